/**
 * A remote error of the CommunicationError family (or a SecurityError) releases the proxy's
 * connection, as in Pyro5: the daemon closes the connection after sending one, and the next
 * call connects again instead of writing into the closing socket. Against our daemon always;
 * against a live Python Pyro5 daemon with `PYRO5_PYTHONPATH`.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { createProxy } from "../proxy.ts";
import { SecurityError, SerializeError } from "../errors.ts";
import { skipPython, startPython } from "./_python.ts";

const service = expose({
  echo: (x: unknown) => x,
  bytes: () => new Uint8Array([1, 2, 3]),
  deny: () => {
    throw new SecurityError("not for you");
  },
});

Deno.test("The call right after a remote SerializeError reconnects and succeeds", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(service);
  await using p = createProxy<typeof service>(uri, { serializer: "json" });
  for (let i = 0; i < 10; i++) {
    await assert.rejects(p.bytes(), SerializeError);
    assert.equal(p._pyroConnected, false, "the connection is released");
    assert.equal(await p.echo(i), i);
  }
});

Deno.test("The call right after a remote SecurityError reconnects and succeeds", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(service);
  await using p = createProxy<typeof service>(uri);
  await assert.rejects(p.deny(), SecurityError);
  assert.equal(await p.echo("again"), "again");
});

const PYTHON_DAEMON = `
import Pyro5.api
@Pyro5.api.expose
class Thing:
    def bad(self):
        return frozenset([1])
    def echo(self, x):
        return x
daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(Thing, "thing"), flush=True)
daemon.requestLoop()
`;

Deno.test({
  name: "After a Python daemon's SerializeError the next call reconnects (json and msgpack)",
  ignore: skipPython(),
  fn: async () => {
    await using python = await startPython(PYTHON_DAEMON);
    for (const serializer of ["json", "msgpack"]) {
      await using p = createProxy<{ bad(): unknown; echo(x: number): number }>(
        python.firstLine,
        { serializer },
      );
      for (let i = 0; i < 10; i++) {
        await assert.rejects(p.bad(), SerializeError);
        assert.equal(await p.echo(i), i, `${serializer}, round ${i}`);
      }
    }
  },
});
