/**
 * SerializedBlob (flag 0x20, KEEPSERIALIZED): the payload passes an intermediate daemon without
 * being decoded, with every serializer, and interoperates with Python's SerializedBlob both ways
 * (live halves with `PYRO5_PYTHONPATH`).
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { createProxy } from "../proxy.ts";
import { SerializeError } from "../errors.ts";
import { heldMessage, SerializedBlob } from "../serialized_blob.ts";
import { marshalDumps, marshalLoads } from "../_codecs/marshal.ts";
import { blobInfoAnnotation, readBlobInfo } from "../_codecs/blob.ts";
import { isTuple, tuple } from "../value.ts";
import { fromHex } from "./_hex.ts";
import { runPython, skipPython, startPython } from "./_python.ts";

Deno.test("marshal reads what Python writes and writes what Python reads", () => {
  // Python 3.11: marshal.dumps(('info', {'a': [1, 2**70, -5, 1.5, b'x', None, True]}, 'obj', 'meth'))
  const python = fromHex(
    "2904da04696e666f7bda01615b07000000e9010000006c0500000000000000000000000004e9fbffffffe70000" +
      "00000000f83ff301000000784e5430da036f626ada046d657468",
  );
  const value = marshalLoads(python) as unknown[];
  assert.ok(isTuple(value));
  assert.deepEqual(value, [
    "info",
    { a: [1, 2n ** 70n, -5, 1.5, new Uint8Array([0x78]), null, true] },
    "obj",
    "meth",
  ]);
  assert.deepEqual(marshalLoads(marshalDumps(value)), value);
  assert.deepEqual(readBlobInfo(blobInfoAnnotation(tuple(1, "x"), "o", "m")), {
    info: [1, "x"],
    object: "o",
    method: "m",
  });
  assert.throws(() => marshalLoads(new Uint8Array([0x29, 5])), SerializeError);
  assert.throws(() => readBlobInfo(marshalDumps("just a string")), SerializeError);
});

/** A worker that reports what it got, and a dispatcher that forwards blobs unopened. */
function serveChain(daemon: Daemon, serializer: string) {
  const seen: { containsBlob: boolean; serializerId: number | undefined }[] = [];
  const worker = daemon.register(expose({
    work: (blob: SerializedBlob) => [blob.info, blob.deserialized()],
  }));
  const dispatcher = daemon.register(expose({
    async dispatch(blob: SerializedBlob) {
      seen.push({ containsBlob: blob.containsBlob, serializerId: heldMessage(blob)?.serializerId });
      await using w = createProxy<{ work(b: SerializedBlob): unknown }>(worker, { serializer });
      return await w.work(blob);
    },
  }));
  return { worker, dispatcher, seen };
}

for (const serializer of ["serpent", "json", "msgpack"]) {
  Deno.test(`A blob passes a dispatcher undecoded and arrives whole (${serializer})`, async () => {
    await using daemon = new Daemon({ host: "127.0.0.1" });
    const { dispatcher, seen } = serveChain(daemon, serializer);
    await using d = createProxy<{ dispatch(b: SerializedBlob): unknown }>(dispatcher, {
      serializer,
    });
    const data = { text: "héllo", list: [1, 2, 3], nested: { ok: true } };
    assert.deepEqual(await d.dispatch(new SerializedBlob("job-1", data)), ["job-1", data]);
    assert.deepEqual(await d.dispatch(new SerializedBlob(tuple("a", 1), [1, 2])), [["a", 1], [
      1,
      2,
    ]]);
    assert.deepEqual(seen.map((s) => s.containsBlob), [true, true]);
  });
}

Deno.test("A blob must be the only argument", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(expose({ f: (..._a: unknown[]) => 1 }));
  await using p = createProxy<{ f(...a: unknown[]): number }>(uri);
  await assert.rejects(p.f(new SerializedBlob("i", 1), 2), (e: unknown) => {
    assert.ok(e instanceof SerializeError);
    assert.equal(e.message, "if SerializedBlob is used, it must be the only argument");
    return true;
  });
});

const PYTHON_WORKER = `
import Pyro5.api
@Pyro5.api.expose
class Worker:
    def work(self, blob):
        return [blob.info, type(blob.deserialized()).__name__, blob.deserialized()]
@Pyro5.api.expose
class Dispatcher:
    def dispatch(self, blob):
        with Pyro5.api.Proxy(worker_uri) as w:
            return w.work(blob)
import sys
daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
worker_uri = sys.argv[1] if len(sys.argv) > 1 else None
`;

Deno.test({
  name:
    "Python's SerializedBlob passes our dispatcher to a Python worker, and ours passes Python's",
  ignore: skipPython(),
  fn: async () => {
    // Python client -> our dispatcher -> Python worker.
    await using python = await startPython(
      PYTHON_WORKER + `print(daemon.register(Worker, "worker"), flush=True)\ndaemon.requestLoop()`,
    );
    await using daemon = new Daemon({ host: "127.0.0.1" });
    const dispatcher = daemon.register(expose({
      async dispatch(blob: SerializedBlob) {
        assert.ok(blob.containsBlob);
        await using w = createProxy<{ work(b: SerializedBlob): unknown }>(python.firstLine);
        return await w.work(blob);
      },
    }));
    const out = await runPython(`
import Pyro5.api
with Pyro5.api.Proxy("${dispatcher}") as d:
    print(d.dispatch(Pyro5.api.SerializedBlob("py-info", {"a": (1, 2), "b": "x"})))
`);
    assert.equal(out.trim(), "['py-info', 'dict', {'a': (1, 2), 'b': 'x'}]");

    // Our client -> a Python dispatcher -> our worker.
    const worker = daemon.register(expose({
      work: (blob: SerializedBlob) => [blob.info, blob.containsBlob, blob.deserialized()],
    }));
    await using pyDispatcher = await startPython(
      PYTHON_WORKER.replace("len(sys.argv) > 1", "True").replace("sys.argv[1]", `"${worker}"`) +
        `print(daemon.register(Dispatcher, "dispatcher"), flush=True)\ndaemon.requestLoop()`,
    );
    // Pyro5 forwards a held message under its own proxy's serializer id, so the client must
    // use the dispatcher's serializer (serpent, Python's default) for the pass-through to work.
    for (const serializer of ["serpent"]) {
      await using d = createProxy<{ dispatch(b: SerializedBlob): unknown }>(
        pyDispatcher.firstLine,
        { serializer },
      );
      assert.deepEqual(await d.dispatch(new SerializedBlob("ts-info", { n: [1, 2] })), [
        "ts-info",
        true,
        { n: [1, 2] },
      ], serializer);
    }
  },
});
