/**
 * Handshake authentication: the `handshake` proxy option is sent when the proxy connects;
 * the daemon's reply is in `_pyroHandshakeResponse`. A refused handshake fails the call
 * with `CommunicationError`, carrying the server's reason.
 *
 * Run: `deno run -A examples/handshake/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { CommunicationError, createProxy } from "../../mod.ts";
import type { Credentials, Vault } from "./server.ts";

const ann: Credentials = { user: "ann", password: "secret" };
await using vault = createProxy<Vault>("PYRONAME:example.handshake", { handshake: ann });
console.log(`client: ${await vault.secret()}`);
console.log(`client: the server said "${vault._pyroHandshakeResponse}"`);

const mallory: Credentials = { user: "mallory", password: "guess" };
await using intruder = createProxy<Vault>("PYRONAME:example.handshake", { handshake: mallory });
try {
  await intruder.secret();
} catch (e) {
  if (!(e instanceof CommunicationError)) throw e;
  console.log(`client: mallory was refused: ${e.message}`);
}

// The handshake can change; it is sent again on the next connect.
intruder._pyroHandshake = { user: "bob", password: "hunter2" };
console.log(`client: after logging in again: ${await intruder.whoami()}`);
