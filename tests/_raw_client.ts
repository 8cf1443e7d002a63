/**
 * A raw Pyro client for daemon tests: sends hand-made frames and decodes the replies, so the
 * tests see exactly what goes over the wire.
 */

import { MessageConnection } from "../_wire/connection.ts";
import { setLogSink } from "../log.ts";
import { encodeMessage, Flags, type Message, MessageType } from "../_wire/protocol.ts";
import { getSerializer } from "../serializer.ts";

/** A decoded reply. */
export interface Reply {
  msg: Message;
  value: unknown;
}

/** Options of one frame. */
export interface FrameOptions {
  seq?: number;
  flags?: number;
  serializerId?: number;
  annotations?: Record<string, Uint8Array>;
  correlationId?: Uint8Array;
}

/** A connection that speaks raw frames. */
export class RawClient {
  readonly conn: MessageConnection;
  readonly tcp: Deno.Conn;
  serializerId: number;
  #seq = 0;

  private constructor(tcp: Deno.Conn, serializerId: number) {
    this.tcp = tcp;
    this.conn = new MessageConnection(tcp);
    this.serializerId = serializerId;
  }

  /** Connects over TCP (or a Unix socket when `addr` is one). */
  static async open(addr: Deno.Addr, serializerId = 4): Promise<RawClient> {
    const tcp = addr.transport === "unix"
      ? await Deno.connect({ transport: "unix", path: (addr as Deno.UnixAddr).path })
      : await Deno.connect({ hostname: "127.0.0.1", port: (addr as Deno.NetAddr).port });
    if (addr.transport === "tcp") (tcp as Deno.TcpConn).setNoDelay(true);
    return new RawClient(tcp, serializerId);
  }

  /** Connects and completes the handshake; throws when refused. */
  static async connected(
    addr: Deno.Addr,
    objectId = "thing",
    serializerId = 4,
  ): Promise<RawClient> {
    const client = await RawClient.open(addr, serializerId);
    const reply = await client.handshake(objectId);
    if (reply.msg.type !== MessageType.CONNECTOK) {
      client.close();
      throw new Error(`handshake refused: ${String(reply.value)}`);
    }
    return client;
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.conn.send(bytes);
  }

  /** Sends CONNECT and reads the answer. */
  async handshake(
    objectId: string,
    handshake: unknown = "hello",
    options: FrameOptions = {},
  ): Promise<Reply> {
    const s = getSerializer(options.serializerId ?? this.serializerId);
    await this.conn.send(encodeMessage({
      type: MessageType.CONNECT,
      serializerId: s.id,
      seq: options.seq ?? this.#seq,
      flags: options.flags ?? 0,
      annotations: options.annotations,
      correlationId: options.correlationId ?? null,
      data: s.dumps({ handshake, object: objectId }),
    }));
    return await this.reply();
  }

  /** Sends an INVOKE without waiting; returns its seq. */
  async send(
    object: string,
    method: string,
    params: unknown[] = [],
    kwargs: Record<string, unknown> | null = {},
    options: FrameOptions = {},
  ): Promise<number> {
    const s = getSerializer(options.serializerId ?? this.serializerId);
    const seq = options.seq ?? (this.#seq = (this.#seq + 1) & 0xffff);
    await this.conn.send(encodeMessage({
      type: MessageType.INVOKE,
      serializerId: s.id,
      seq,
      flags: options.flags ?? 0,
      annotations: options.annotations,
      correlationId: options.correlationId ?? null,
      data: s.dumpsCall({ object, method, params, kwargs }),
    }));
    return seq;
  }

  /** Sends an INVOKE and reads its reply. */
  async call(
    object: string,
    method: string,
    params: unknown[] = [],
    kwargs: Record<string, unknown> | null = {},
    options: FrameOptions = {},
  ): Promise<Reply> {
    await this.send(object, method, params, kwargs, options);
    return await this.reply();
  }

  /** Sends a oneway INVOKE (no reply expected). */
  async oneway(object: string, method: string, params: unknown[] = []): Promise<void> {
    await this.send(object, method, params, {}, { flags: Flags.ONEWAY });
  }

  /** Reads the next reply and decodes its payload; throws at end of stream. */
  async reply(): Promise<Reply> {
    const msg = await this.conn.receive();
    if (msg === null) throw new Error("connection closed by the daemon");
    let value: unknown = msg.data;
    if (msg.type !== MessageType.PING && msg.serializerId !== 2) {
      value = getSerializer(msg.serializerId).loads(msg.data);
    }
    return { msg, value };
  }

  /** Resolves true when the daemon closes the connection (after any pending frames). */
  async closedByPeer(): Promise<boolean> {
    try {
      for (;;) {
        const msg = await this.conn.receive();
        if (msg === null) return true;
      }
    } catch {
      return true;
    }
  }

  /** Closes the client side. */
  close(): void {
    this.conn.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A promise with its resolve function, for calls that wait on the test. */
export function deferred<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** Captures the library's log lines until disposed. */
export function captureLog(): { lines: string[] } & Disposable {
  const lines: string[] = [];
  const previous = setLogSink((level, message) => lines.push(`${level} ${message}`));
  return { lines, [Symbol.dispose]: () => void setLogSink(previous) };
}
