/**
 * The chat server: participants join with a listener object that they serve themselves; the
 * server calls every listener back (oneway) when someone joins, speaks or leaves.
 *
 * Run: `deno run -A examples/chat/server.ts` (with a Name Server running).
 *
 * @module
 */

import { expose, isProxy, serve } from "../../mod.ts";
import type { ChatListener } from "./chat.ts";

/** One chat room. */
@expose
export class ChatBox {
  #members = new Map<string, ChatListener>();

  /** Joins as `nick`; returns who was already there. */
  join(nick: string, listener: ChatListener): string[] {
    if (this.#members.has(nick)) throw new Error(`the nick ${nick} is taken`);
    const present = [...this.#members.keys()];
    this.#members.set(nick, listener);
    this.#tell((l) => l.joined(nick));
    console.log(`server: ${nick} joined`);
    return present;
  }

  /** Says something to everyone (the speaker included). */
  say(nick: string, text: string): void {
    if (!this.#members.has(nick)) throw new Error(`${nick} has not joined`);
    this.#tell((l) => l.message(nick, text));
  }

  /** Leaves the room. */
  async leave(nick: string): Promise<void> {
    const listener = this.#members.get(nick);
    this.#members.delete(nick);
    if (isProxy(listener)) await listener._pyroRelease();
    this.#tell((l) => l.left(nick));
    console.log(`server: ${nick} left`);
  }

  #tell(call: (listener: ChatListener) => unknown): void {
    for (const [nick, listener] of this.#members) {
      Promise.resolve(call(listener)).catch(() => {
        console.log(`server: ${nick} cannot be reached and was dropped`);
        this.#members.delete(nick);
      });
    }
  }
}

await serve({
  "example.chatbox": new ChatBox(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
