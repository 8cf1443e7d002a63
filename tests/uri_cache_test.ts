import assert from "node:assert/strict";
import { jsonSerializer } from "../_codecs/json.ts";
import { createSerpentSerializer, serpentSerializer } from "../_codecs/serpent.ts";
import { registerDictToClass, unregisterDictToClass } from "../class_registry.ts";
import { SerializeError } from "../errors.ts";
import { URI } from "../uri.ts";

const codecs = [jsonSerializer, serpentSerializer];
const uris = [
  "PYRO:obj@localhost:1234",
  "PYRO:obj@[::1]:70000",
  "PYRO:obj@./u:/tmp/s.sock",
  "PYRONAME:demo.name",
  "PYROMETA:a,b@ns:9",
  "PYRO:h\u00e9llo@example.org:1",
].map((u) => new URI(u));

Deno.test("json and serpent give the same URI again for the same reply bytes, equal to a fresh decode", () => {
  for (const codec of codecs) {
    for (const uri of uris) {
      const data = codec.dumps(uri).slice();
      const first = codec.loads(data) as URI;
      const again = codec.loads(data.slice());
      assert.ok(first instanceof URI && first.equals(uri), `${codec.name} ${uri}`);
      assert.equal(again, first, `${codec.name} ${uri}: cached`);
      assert.ok(Object.isFrozen(first));
    }
    // Other values and URIs inside other values are decoded afresh.
    const inList = codec.dumps([uris[0]]).slice();
    assert.notEqual((codec.loads(inList) as URI[])[0], (codec.loads(inList) as URI[])[0]);
  }
});

Deno.test("json and serpent revive URI replies through a dict hook for URIs while one is registered", () => {
  for (const codec of codecs) {
    const data = codec.dumps(uris[0]).slice();
    assert.ok(codec.loads(data) instanceof URI);
    registerDictToClass("Pyro5.core.URI", (_n, d) => ({ hooked: d.state }));
    try {
      assert.deepEqual(codec.loads(data), { hooked: ["PYRO", "obj", null, "localhost", 1234] });
    } finally {
      unregisterDictToClass("Pyro5.core.URI");
    }
    assert.ok(codec.loads(data) instanceof URI);
  }
});

Deno.test("A serpent serializer with tighter limits refuses a URI reply the default one has read", () => {
  const data = serpentSerializer.dumps(uris[0]).slice();
  assert.ok(serpentSerializer.loads(data) instanceof URI);
  assert.ok(serpentSerializer.loads(data) instanceof URI);
  const strict = createSerpentSerializer({ maxDepth: 1 });
  assert.throws(() => strict.loads(data), SerializeError);
  assert.throws(() => strict.loads(data), SerializeError);
});
