/**
 * Test helper process: races safe registrations. Registers `COUNT` names `race.<i>` with
 * `safe=True` through the name server at the URI given first, and prints one JSON line:
 * `{won: [...], lost: [...]}`, where lost names got Pyro5's "name already registered" error.
 *
 * Run: `deno run -A tests/_pg_racer.ts PYRO:Pyro.NameServer@127.0.0.1:PORT COUNT ID`
 *
 * @module
 */

import { locateNS } from "../locate.ts";
import { NamingError } from "../errors.ts";
import { URI } from "../uri.ts";

const [nsUri, countText, id] = Deno.args;
const uri = new URI(nsUri!);
await using ns = await locateNS(uri.host, uri.port, { serializer: "msgpack" });
const won: string[] = [];
const lost: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  const name = `race.${i}`;
  try {
    await ns.register(name, `PYRO:racer${id}@127.0.0.1:1`, true);
    won.push(name);
  } catch (e) {
    if (!(e instanceof NamingError) || e.message !== `name already registered: ${name}`) throw e;
    lost.push(name);
  }
}
console.log(JSON.stringify({ won, lost }));
