/**
 * Helpers shared by the proxy tests: a frame reader for scripted peers and the method names
 * the scripted objects have.
 */

import type { UntypedMethods } from "../proxy.ts";

/** Reads whole frames from a connection. */
export class FrameReader {
  #conn: Pick<Deno.Conn, "read">;
  #buf = new Uint8Array(0);

  constructor(conn: Pick<Deno.Conn, "read">) {
    this.#conn = conn;
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length < n) {
      const chunk = new Uint8Array(65536);
      let got: number | null;
      try {
        got = await this.#conn.read(chunk);
      } catch {
        got = null;
      }
      if (got === null) return false;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    return true;
  }

  async next(): Promise<Uint8Array | null> {
    if (!await this.#fill(40)) return null;
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset);
    const total = 40 + view.getUint32(12) + view.getUint32(16);
    if (!await this.#fill(total)) return null;
    const frame = this.#buf.slice(0, total);
    this.#buf = this.#buf.slice(total);
    return frame;
  }
}

/** Every name the scripts call, on `thing`, `other` and `Pyro.Daemon`. */
export type Thing = UntypedMethods<
  | "echo"
  | "kw"
  | "annotated"
  | "get_other"
  | "add"
  | "name"
  | "fail_value"
  | "fail_custom"
  | "fire"
  | "fired"
  | "corr_id"
  | "ping"
  | "registered"
  | "get_metadata"
  | "info"
  | "get_next_stream_item"
  | "hidden"
  | "nosuch"
  | "slow"
>;
