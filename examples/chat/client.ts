/**
 * A chat participant. It serves its own listener in a Daemon, joins the chat box, waits
 * until `--people` participants are present, says hello, waits until it heard everyone's
 * hello, and leaves. Start several at once with different nicks.
 *
 * Run: `deno run -A examples/chat/client.ts NICK [--people 3]` (with the Name Server and the
 * server running).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createProxy, Daemon, expose, oneway } from "../../mod.ts";
import type { ChatListener } from "./chat.ts";
import type { ChatBox } from "./server.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  options: { people: { type: "string", default: "3" } },
  allowPositionals: true,
});
const nick = positionals[0] ?? "guest";
const people = Number(values.people);

const present = new Set<string>();
const everyoneHere = Promise.withResolvers<void>();
const heard = new Set<string>();
const everyoneHeard = Promise.withResolvers<void>();

/** Prints what happens in the chat and keeps count. */
@expose
class Listener implements ChatListener {
  @oneway
  joined(who: string): void {
    present.add(who);
    if (present.size >= people) everyoneHere.resolve();
  }

  @oneway
  message(who: string, text: string): void {
    console.log(`${nick}: ${who} says "${text}"`);
    heard.add(who);
    if (heard.size >= people) everyoneHeard.resolve();
  }

  @oneway
  left(who: string): void {
    present.delete(who);
  }
}

await using daemon = new Daemon({ host: "127.0.0.1" });
const listener = new Listener();
daemon.register(listener);
await using chat = createProxy<ChatBox>("PYRONAME:example.chatbox");
for (const who of await chat.join(nick, listener)) listener.joined(who);
await everyoneHere.promise;
console.log(`${nick}: all ${people} are here`);
await chat.say(nick, `hello from ${nick}`);
await everyoneHeard.promise;
await chat.leave(nick);
console.log(`${nick}: heard everyone, bye`);
