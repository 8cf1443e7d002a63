/**
 * The client of the TLS example. With the example CA it verifies the server, and with its
 * own certificate it proves who it is. Without a client certificate, or without TLS at all,
 * the server does not let it in.
 *
 * Run: `deno run -A examples/tls/client.ts [CERTS_DIR]` (with the Name Server and the server
 * running).
 *
 * @module
 */

import { CommunicationError, createProxy, type ProxyOptions } from "../../mod.ts";
import type { Safe } from "./server.ts";

const dir = Deno.args[0] ?? new URL("./certs", import.meta.url).pathname;
const pem = (file: string) => Deno.readTextFileSync(`${dir}/${file}`);
const ca = pem("ca.pem");

await using safe = createProxy<Safe>("PYRONAME:example.tls.safe", {
  tls: { caCerts: [ca], cert: pem("client.pem"), key: pem("client.key") },
});
console.log(`client: the server sees "${await safe.whoami()}"`);
console.log(`client: the safe contains ${await safe.contents()}`);

const attempts: Record<string, ProxyOptions> = {
  "TLS without a client certificate": { tls: { caCerts: [ca] }, timeout: 5000, maxRetries: 0 },
  "plain TCP": { tls: false, timeout: 5000, maxRetries: 0 },
};
for (const [how, options] of Object.entries(attempts)) {
  await using stranger = createProxy<Safe>("PYRONAME:example.tls.safe", options);
  try {
    await stranger.contents();
    console.log(`client: ${how}: let in (unexpected)`);
  } catch (e) {
    if (!(e instanceof CommunicationError)) throw e;
    console.log(`client: ${how}: refused (${e.name})`);
  }
}
