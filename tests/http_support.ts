/**
 * Test support for the `http/request` tests: a raw loopback HTTP/1.1 server (full control over bytes,
 * resets and stalls) and an in-memory notification sink with a holdable `whenWritable()`.
 *
 * @module
 */
import type { HttpBodyDeltaNotification } from "../src/protocol/http.ts";
import type { HandlerContext, NotificationSink } from "../src/rpc/handler_context.ts";
import { messageText, type OutgoingMessage } from "../src/rpc/write_queue.ts";

const encoder = new TextEncoder();

/** A request as the server saw it: the request line verbatim, raw header lines in order. */
export interface RawRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** What a test server handler gets for one connection. */
export interface ServerExchange {
  request: RawRequest;
  conn: Deno.Conn;
  /** Writes all bytes (text is sent as UTF-8 unless given as bytes). */
  write(data: string | Uint8Array): Promise<void>;
}

/** A running loopback server. */
export interface RawServer {
  port: number;
  url(path?: string): string;
  requests: RawRequest[];
  /** Stops accepting, closes every connection, and waits for all handlers to finish. */
  close(): Promise<void>;
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i + 4;
  }
  return -1;
}

async function readRequest(conn: Deno.Conn): Promise<RawRequest | null> {
  let buf = new Uint8Array(0);
  let end = -1;
  for (let reads = 0; end < 0; reads++) {
    if (reads > 10_000 || buf.length > 1 << 20) throw new Error("request head too large");
    const chunk = new Uint8Array(65536);
    const n = await conn.read(chunk);
    if (n === null) return null;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    end = indexOfHeadEnd(buf);
  }
  const lines = new TextDecoder().decode(buf.subarray(0, end - 4)).split("\r\n");
  const [method, target] = lines[0].split(" ");
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
  });
  const length = Number(headers.find(([n]) => n.toLowerCase() === "content-length")?.[1] ?? 0);
  let body = buf.subarray(end);
  while (body.length < length) {
    const chunk = new Uint8Array(65536);
    const n = await conn.read(chunk);
    if (n === null) break;
    const next = new Uint8Array(body.length + n);
    next.set(body);
    next.set(chunk.subarray(0, n), body.length);
    body = next;
  }
  return { method, target, headers, body: body.slice(0, length) };
}

/** Starts a server on 127.0.0.1:0 that runs `handler` once per connection, then closes the connection. */
export function startRawServer(handler: (ex: ServerExchange) => Promise<void>): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const requests: RawRequest[] = [];
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const serve = async (conn: Deno.Conn) => {
    try {
      const request = await readRequest(conn);
      if (!request) return;
      requests.push(request);
      await handler({
        request,
        conn,
        async write(data) {
          const bytes = typeof data === "string" ? encoder.encode(data) : data;
          for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
        },
      });
    } catch {
      // The client went away or the test closed the server: nothing to report.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed by the handler already.
      }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // Listener closed.
    }
  })();
  return {
    port,
    url: (path = "/") => `http://127.0.0.1:${port}${path}`,
    requests,
    async close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await loop;
      await Promise.allSettled([...tasks]);
    },
  };
}

/** Formats a response head: status line, header lines, blank line. */
export function head(status: number, headers: [string, string | number][] = []): string {
  return `HTTP/1.1 ${status} X\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
}

/** Everything the sink saw, in order: `"frame"` entries carry the params, `"mark"` entries a label. */
export type SinkEvent = { kind: "frame"; frame: HttpBodyDeltaNotification } | { kind: "mark"; label: string };

/** An in-memory sink; `hold()` makes `whenWritable()` pend until `resume()`. */
export class MemorySink implements NotificationSink {
  events: SinkEvent[] = [];
  attached = true;
  /** When false, data frames are passed to `onFrame` but not kept (large bodies). */
  keepFrames = true;
  onFrame: ((frame: HttpBodyDeltaNotification) => void) | null = null;
  whenWritableCalls = 0;
  #gate: PromiseWithResolvers<void> | null = null;
  #waiters: (() => void)[] = [];

  notify(method: string, params: unknown, onWritten?: () => void): boolean {
    if (!this.attached) return false;
    if (method !== "http/request/bodyDelta") throw new Error(`unexpected notification ${method}`);
    const frame = params as HttpBodyDeltaNotification;
    this.onFrame?.(frame);
    if (this.keepFrames || frame.done) this.events.push({ kind: "frame", frame });
    onWritten?.();
    for (const wake of this.#waiters.splice(0)) wake();
    return true;
  }

  notifyEncoded(message: OutgoingMessage, onWritten?: () => void): boolean {
    const { method, params } = JSON.parse(messageText(message));
    return this.notify(method, params, onWritten);
  }

  whenWritable(): Promise<void> {
    this.whenWritableCalls++;
    return this.#gate?.promise ?? Promise.resolve();
  }

  hold(): void {
    this.#gate ??= Promise.withResolvers<void>();
  }

  resume(): void {
    this.#gate?.resolve();
    this.#gate = null;
  }

  mark(label: string): void {
    this.events.push({ kind: "mark", label });
  }

  get frames(): HttpBodyDeltaNotification[] {
    return this.events.flatMap((e) => (e.kind === "frame" ? [e.frame] : []));
  }

  /** Resolves once `predicate` holds (checked after every notification). */
  async until(predicate: () => boolean): Promise<void> {
    for (let i = 0; !predicate(); i++) {
      if (i > 1_000_000) throw new Error("MemorySink.until: condition never held");
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves with the terminal frame. */
  async done(): Promise<HttpBodyDeltaNotification> {
    await this.until(() => this.frames.some((f) => f.done));
    return this.frames.find((f) => f.done)!;
  }
}

/** A handler context over `sink`, plus the controller whose abort simulates the connection closing. */
export function context(
  sink: NotificationSink = new MemorySink(),
): HandlerContext & { connection: AbortController } {
  const connection = new AbortController();
  return { notifications: sink, signal: connection.signal, connection };
}

/** Concatenates the decoded data frames. */
export function frameBytes(frames: HttpBodyDeltaNotification[]): Uint8Array {
  const parts = frames.filter((f) => !f.done).map((f) => Uint8Array.fromBase64(f.deltaBase64));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
