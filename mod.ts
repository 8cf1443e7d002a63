/**
 * Pyro for Deno: Python Remote Objects in TypeScript, wire-compatible with Python Pyro5.
 *
 * A server registers objects with a {@linkcode Daemon} and their URIs with the Name Server; a
 * client looks a name up, makes a proxy with {@linkcode createProxy}, and calls methods on it as
 * if the object were local. Python Pyro5 clients can call TypeScript daemons and use our Name
 * Server, and TypeScript proxies can call Python daemons.
 *
 * @example Serve an object and call it
 * ```ts
 * import { createProxy, Daemon, expose } from "./mod.ts";
 *
 * @expose
 * class Calculator {
 *   add(a: number, b: number): number {
 *     return a + b;
 *   }
 * }
 *
 * await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
 * const uri = daemon.register(new Calculator(), "example.calculator");
 * await using calc = createProxy<Calculator>(uri);
 * console.log(await calc.add(2, 3)); // 5
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./config.ts";
export * from "./log.ts";
export * from "./uri.ts";
export * from "./value.ts";
export * from "./serializer.ts";
export {
  type ClassToDict,
  type ClassToDictOptions,
  type DictToClass,
  ExceptionWrapper,
  registerClassToDict,
  registerDictToClass,
  unregisterClassToDict,
  unregisterDictToClass,
} from "./class_registry.ts";
export {
  type Behavior,
  behavior,
  type BehaviorOptions,
  callback,
  type ClassLike,
  expose,
  type FunctionLike,
  type InstanceMode,
  isKwargs,
  isPrivateName,
  oneway,
} from "./expose.ts";
export { type CallContext, type ConnectionInfo, currentContext } from "./context.ts";
export * from "./daemon.ts";
export * from "./serve.ts";
export { SerializedBlob, type SerializedMessage } from "./serialized_blob.ts";
export * from "./proxy.ts";
export * from "./locate.ts";
export * from "./tls.ts";
export * from "./auth.ts";
export {
  type Awaitable,
  type BroadcastResponder,
  type LookupWithMetadata,
  MemoryStorage,
  NameServer as NameServerObject,
  NAMESERVER_NAME,
  NAMESERVER_TAG,
  type NameServerHandle,
  type NameServerOptions,
  type NameStorage,
  openStorage,
  POSTGRES_SCHEMA_VERSION,
  PostgresStorage,
  type PostgresStorageOptions,
  SqliteStorage,
  startNameServer,
  type StoredEntry,
  type StoredRecord,
  type TagMatch,
  typeMeta,
  type UriWithMetadata,
} from "./naming.ts";
export * from "./gateway.ts";
