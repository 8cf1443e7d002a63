/**
 * The server of the handshake example: every new connection must present a user name and
 * password in its handshake. `validateHandshake` checks them, refuses strangers, remembers
 * who connected in the connection's storage, and sends a welcome back.
 *
 * Run: `deno run -A examples/handshake/server.ts` (with a Name Server running).
 *
 * @module
 */

import { currentContext, Daemon, expose, SecurityError, serve } from "../../mod.ts";

/** The credentials a client sends as its handshake data. */
export interface Credentials {
  user: string;
  password: string;
}

const PASSWORDS = new Map([["ann", "secret"], ["bob", "hunter2"]]);

function isCredentials(data: unknown): data is Credentials {
  return typeof data === "object" && data !== null &&
    typeof (data as Credentials).user === "string" &&
    typeof (data as Credentials).password === "string";
}

/** A vault that knows who is asking. */
@expose
export class Vault {
  /** The user of the calling connection, as the handshake established it. */
  whoami(): string {
    return String(currentContext()?.connection.storage.get("user"));
  }

  /** The caller's secret. */
  secret(): string {
    return `the secret of ${this.whoami()} is safe`;
  }
}

const daemon = new Daemon({
  host: "127.0.0.1",
  validateHandshake(data, context) {
    if (!isCredentials(data) || PASSWORDS.get(data.user) !== data.password) {
      console.log(`server: refused a connection from ${context.clientAddress}`);
      throw new SecurityError("wrong user name or password");
    }
    context.connection.storage.set("user", data.user);
    return `welcome, ${data.user}`;
  },
});
await serve({
  "example.handshake": new Vault(),
}, { daemon, verbose: false, onReady: () => console.log("server: ready") });
