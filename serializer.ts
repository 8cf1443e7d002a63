/**
 * The serializer interface and the registry of serializers by Pyro5 id and name.
 *
 * serpent (id 1), json (id 3) and msgpack (id 4) are always registered. Every codec follows
 * the value model described in value.ts and throws `SerializeError` for values it cannot carry and for bad
 * input.
 *
 * @example Encoding a call and reading it back
 * ```ts
 * import { getSerializer } from "./serializer.ts";
 *
 * const json = getSerializer("json");
 * const bytes = json.dumpsCall({ object: "thing", method: "echo", params: ["hi"], kwargs: {} });
 * console.log(new TextDecoder().decode(bytes));
 * // {"object": "thing", "method": "echo", "params": ["hi"], "kwargs": {}}
 * console.log(json.loadsCall(bytes).method); // echo
 * ```
 *
 * @module
 */

export type { CallRequest, Serializer } from "./_codecs/types.ts";
export { getSerializer, hasSerializer, registerSerializer } from "./_codecs/registry.ts";
