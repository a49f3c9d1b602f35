// deno-lint-ignore-file no-explicit-any -- raw JSON-RPC replies of three different servers, checked by the scenarios
/**
 * The benchmark's own JSON-RPC client: deliberately minimal, because it is part of what is measured and
 * the same client drives both servers.
 *
 * - Output notifications (`process/output`) take a fast path: the line is never decoded nor parsed; the
 *   chunk's decoded size comes from the base64 length. The payload stays available as bytes for checks.
 * - Responses larger than {@link BIG_LINE} are not parsed either: the id is sniffed from the prefix and
 *   the raw bytes are handed over (a 50 MB `fs/readFile` answer would otherwise cost ~100 ms of JSON.parse).
 * - Everything else is `JSON.parse`d.
 * - Every wait has a deadline ({@link withDeadline}); servers are killed by {@link ServerHandle.kill}.
 *
 * @module
 */

const NL = 0x0a;
/** Lines longer than this are not JSON.parsed (responses only). */
export const BIG_LINE = 8 * 1024 * 1024;

/** A `process/output` notification, without having decoded its payload. */
export interface OutputEvent {
  processId: string;
  seq: number;
  stream: string;
  /** Decoded byte count (from the base64 length). */
  bytes: number;
  /** The base64 payload: a byte view (stdio) or a string (WebSocket). */
  chunk: Uint8Array | string;
}

/** Other notifications: `process/exited`, `process/closed`, ... */
export interface EventHandlers {
  output?(event: OutputEvent): void;
  notification?(method: string, params: any): void;
}

/** A response whose line was too big to parse: the raw message. */
export interface RawResult {
  raw: Uint8Array | string;
}

export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(`${code}: ${message}`);
  }
}

export class TimeoutError extends Error {}

/** Rejects with a TimeoutError after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Decoded size of a base64 text of `len` characters whose last two characters are `c1`, `c2`. */
function b64Size(len: number, c1: number, c2: number): number {
  if (len === 0) return 0;
  let pad = 0;
  if (c2 === 0x3d) pad = c1 === 0x3d ? 2 : 1;
  return (len / 4) * 3 - pad;
}

const OUTPUT_TAG = '"method":"process/output"';
const CHUNK_TAG = '"chunk":"';

/** Common client half: request ids, pending map, dispatch. Subclasses provide `sendText`. */
export abstract class Client {
  #nextId = 1;
  #pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  handlers: EventHandlers = {};
  /** How paths and writes are spelled for this server (set from its {@link ServerSpec}). */
  dialect: Dialect = "0.140";
  closed = false;
  closeReason = "";
  protocolErrors: string[] = [];

  protected abstract sendText(text: string): void;
  abstract close(): Promise<void>;

  /** Allocates an id and its pending entry. */
  protected open(): { id: number; promise: Promise<any> } {
    if (this.closed) {
      return { id: -1, promise: Promise.reject(new Error(`connection closed: ${this.closeReason}`)) };
    }
    const id = this.#nextId++;
    const promise = new Promise<any>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    return { id, promise };
  }

  /** Sends a request; resolves with its result (or RawResult for huge lines); rejects on error. */
  request(method: string, params: unknown): Promise<any> {
    return this.requestRaw(method, JSON.stringify(params));
  }

  /** Sends a request whose params JSON is already serialised. */
  requestRaw(method: string, paramsJson: string): Promise<any> {
    const { id, promise } = this.open();
    if (id >= 0) this.sendText(`{"id":${id},"method":"${method}","params":${paramsJson}}\n`);
    return promise;
  }

  notify(method: string, params: unknown): void {
    this.sendText(`{"method":"${method}","params":${JSON.stringify(params)}}\n`);
  }

  async initialize(): Promise<string> {
    const result = await this.request("initialize", { clientName: "exec-server-bench" });
    this.notify("initialized", {});
    return result.sessionId;
  }

  protected dispatchParsed(msg: any): void {
    if (msg === null || typeof msg !== "object") {
      this.protocolErrors.push(`unexpected message ${JSON.stringify(msg)}`);
      return;
    }
    if (typeof msg.method === "string") {
      if (msg.method === "process/output") {
        const p = msg.params;
        const c: string = p.chunk;
        this.handlers.output?.({
          processId: p.processId,
          seq: p.seq,
          stream: p.stream,
          bytes: b64Size(c.length, c.charCodeAt(c.length - 2), c.charCodeAt(c.length - 1)),
          chunk: c,
        });
      } else {
        this.handlers.notification?.(msg.method, msg.params);
      }
      return;
    }
    this.settle(msg.id, msg.error, msg.result);
  }

  protected settle(id: unknown, error: any, result: unknown): void {
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (!pending) {
      this.protocolErrors.push(`response for unknown id ${JSON.stringify(id)}`);
      return;
    }
    this.#pending.delete(id as number);
    if (error) pending.reject(new RpcError(error.code, error.message));
    else pending.resolve(result);
  }

  protected failAll(reason: string): void {
    this.closed = true;
    this.closeReason = reason;
    for (const p of this.#pending.values()) p.reject(new Error(`connection closed: ${reason}`));
    this.#pending.clear();
    this.handlers.notification?.("$closed", { reason });
  }

  get pendingCount(): number {
    return this.#pending.size;
  }
}

/** NDJSON client over a child's pipes. */
export class StdioClient extends Client {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;
  readonly done: Promise<void>;

  constructor(readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>) {
    super();
    this.#writer = writable.getWriter();
    this.done = this.#readLoop(readable);
  }

  protected sendText(text: string): void {
    this.#writer.write(encoder.encode(text)).catch((e) => this.failAll(`write: ${e.message}`));
  }

  /** Sends a request whose params are pre-encoded UTF-8 bytes (avoids re-encoding huge payloads). */
  requestWithBytes(method: string, params: Uint8Array): Promise<any> {
    const { id, promise } = this.open();
    if (id < 0) return promise;
    const fail = (e: Error) => this.failAll(`write: ${e.message}`);
    this.#writer.write(encoder.encode(`{"id":${id},"method":"${method}","params":`)).catch(fail);
    this.#writer.write(params).catch(fail);
    this.#writer.write(encoder.encode("}\n")).catch(fail);
    return promise;
  }

  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already closed
    }
  }

  async #readLoop(readable: ReadableStream<Uint8Array>): Promise<void> {
    const reader = readable.getReader();
    let reason = "eof";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#push(value);
      }
    } catch (e) {
      reason = `read: ${(e as Error).message}`;
    }
    this.failAll(reason);
  }

  #push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) {
        if (start < chunk.length) {
          // The reader may reuse nothing (Deno hands out fresh buffers), so no copy is needed.
          this.#pieces.push(chunk.subarray(start));
          this.#pieceBytes += chunk.length - start;
        }
        return;
      }
      let line: Uint8Array;
      if (this.#pieceBytes > 0) {
        const tail = chunk.subarray(start, nl);
        line = new Uint8Array(this.#pieceBytes + tail.length);
        let o = 0;
        for (const p of this.#pieces) {
          line.set(p, o);
          o += p.length;
        }
        line.set(tail, o);
        this.#pieces = [];
        this.#pieceBytes = 0;
      } else {
        line = chunk.subarray(start, nl);
      }
      start = nl + 1;
      if (line.length > 0) this.#line(line);
    }
  }

  #line(line: Uint8Array): void {
    const headLen = Math.min(line.length, 160);
    const head = latin1.decode(line.subarray(0, headLen));
    if (head.includes(OUTPUT_TAG)) {
      const at = head.indexOf(CHUNK_TAG);
      const n = line.length;
      // Fast path needs the chunk to be the last member: ...,"chunk":"<b64>"}}
      if (at !== -1 && line[n - 1] === 0x7d && line[n - 2] === 0x7d && line[n - 3] === 0x22) {
        const m = /"processId":"([^"\\]*)","seq":(\d+),"stream":"(\w+)"/.exec(head);
        if (m) {
          const from = at + CHUNK_TAG.length;
          const to = n - 3;
          this.handlers.output?.({
            processId: m[1],
            seq: Number(m[2]),
            stream: m[3],
            bytes: b64Size(to - from, line[to - 2], line[to - 1]),
            chunk: line.subarray(from, to),
          });
          return;
        }
      }
    }
    if (line.length > BIG_LINE && !head.includes('"method"')) {
      const m = /"id":(\d+)/.exec(head);
      const isError = /^\{("jsonrpc":"2\.0",)?"error"/.test(head);
      if (m && !isError) {
        this.settle(Number(m[1]), undefined, { raw: line } satisfies RawResult);
        return;
      }
    }
    let msg: unknown;
    try {
      msg = JSON.parse(utf8.decode(line));
    } catch (e) {
      this.protocolErrors.push(`unparseable line (${(e as Error).message}): ${head.slice(0, 80)}`);
      return;
    }
    this.dispatchParsed(msg);
  }
}

/** One message per WebSocket message. */
export class WsClient extends Client {
  #socket: WebSocket;

  private constructor(socket: WebSocket) {
    super();
    this.#socket = socket;
    socket.onmessage = (ev) => this.#message(ev.data);
    socket.onclose = () => this.failAll("websocket closed");
  }

  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new WsClient(socket));
      socket.onerror = (e) => reject(new Error(`websocket ${url}: ${(e as ErrorEvent).message ?? "error"}`));
    });
  }

  protected sendText(text: string): void {
    this.#socket.send(text);
  }

  close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#socket.onclose;
      this.#socket.onclose = (ev) => {
        (prev as any)?.call(this.#socket, ev);
        resolve();
      };
      try {
        this.#socket.close();
      } catch {
        resolve();
      }
      setTimeout(resolve, 1000);
    });
  }

  #message(data: unknown): void {
    if (typeof data !== "string") {
      this.protocolErrors.push("binary frame from server");
      return;
    }
    const head = data.slice(0, 160);
    if (head.includes(OUTPUT_TAG) && data.endsWith('"}}')) {
      const at = head.indexOf(CHUNK_TAG);
      const m = /"processId":"([^"\\]*)","seq":(\d+),"stream":"(\w+)"/.exec(head);
      if (at !== -1 && m) {
        const from = at + CHUNK_TAG.length;
        const to = data.length - 3;
        this.handlers.output?.({
          processId: m[1],
          seq: Number(m[2]),
          stream: m[3],
          bytes: b64Size(to - from, data.charCodeAt(to - 2), data.charCodeAt(to - 1)),
          chunk: data.substring(from, to),
        });
        return;
      }
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      this.protocolErrors.push(`unparseable message (${(e as Error).message}): ${head.slice(0, 80)}`);
      return;
    }
    this.dispatchParsed(msg);
  }
}

// ---------------------------------------------------------------------------------------------------
// Server processes

/** The servers measured side by side: ours and the two Codex references. */
export type Side = "ours" | "codex140" | "codex171";

/**
 * The wire dialect a server is spoken to in. `0.140`: plain paths and cwd, `process/write` without
 * `writeId` (ours is spoken to this way too; it serves both). `0.171`: every path and cwd a `file://` URI,
 * a `writeId` on every `process/write`.
 */
export type Dialect = "0.140" | "0.171";

/** How to start a server. */
export interface ServerSpec {
  side: Side;
  dialect: Dialect;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** A running server process (stdio or ws). */
export class ServerHandle {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  #stderrTail = "";
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.pid = child.pid;
    this.status = child.status.finally(() => {
      this.#exited = true;
      LIVE.delete(this);
    });
    LIVE.add(this);
    this.#drain(child.stderr);
  }

  async #drain(stderr: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stderr) {
        this.#stderrTail = (this.#stderrTail + utf8.decode(chunk)).slice(-4000);
      }
    } catch {
      // gone
    }
  }

  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Peak resident set size (VmHWM) in bytes, or NaN. */
  peakRss(): number {
    return this.#status("VmHWM");
  }

  /** Current resident set size (VmRSS) in bytes, or NaN. */
  rss(): number {
    return this.#status("VmRSS");
  }

  /** Resets the peak (VmHWM) to the current RSS: writes "5" to /proc/PID/clear_refs. False if refused. */
  resetPeakRss(): boolean {
    try {
      Deno.writeTextFileSync(`/proc/${this.pid}/clear_refs`, "5");
      return true;
    } catch {
      return false;
    }
  }

  #status(field: string): number {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  /** SIGTERM (or stdin EOF done by the caller), then SIGKILL after `graceMs`. Never throws. */
  async kill(graceMs = 1500): Promise<void> {
    if (this.#exited) return;
    try {
      this.child.kill("SIGTERM");
    } catch {
      // exited meanwhile
    }
    const t = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // exited
      }
    }, graceMs);
    try {
      await this.status;
    } catch {
      // ignore
    }
    clearTimeout(t);
  }
}

const LIVE = new Set<ServerHandle>();

/** Last-resort cleanup: SIGKILL every server still running (on exit or Ctrl-C). */
export function killAllServers(): void {
  for (const s of LIVE) {
    try {
      s.child.kill("SIGKILL");
    } catch {
      // exited
    }
  }
}

/** A stdio server plus its client. */
export interface StdioConnection {
  server: ServerHandle;
  client: StdioClient;
  close(): Promise<void>;
}

export function spawnServer(spec: ServerSpec, listen: string, stdin: "piped" | "null"): ServerHandle {
  const child = new Deno.Command(spec.cmd, {
    args: [...spec.args, "--listen", listen],
    env: spec.env,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new ServerHandle(child);
}

/** Spawns a stdio server (not yet initialized). */
export function startStdio(spec: ServerSpec): StdioConnection {
  const server = spawnServer(spec, "stdio", "piped");
  const client = new StdioClient(server.child.stdout, server.child.stdin);
  client.dialect = spec.dialect;
  return {
    server,
    client,
    async close() {
      // EOF on stdin is the graceful shutdown for stdio; fall back to signals.
      await client.close();
      const exited = await Promise.race([
        server.status.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
      ]);
      if (!exited) await server.kill();
    },
  };
}

/** A ws server plus one connected client. */
export interface WsConnection {
  server: ServerHandle;
  client: WsClient;
  url: string;
  close(): Promise<void>;
}

/** Spawns a ws server on an ephemeral port, reads its URL, connects and initializes. */
export async function startWs(spec: ServerSpec): Promise<WsConnection> {
  const server = spawnServer(spec, "ws://127.0.0.1:0", "null");
  try {
    const url = await withDeadline(firstLine(server.child.stdout), 15000, `${spec.side} ws listen URL`);
    const client = await withDeadline(WsClient.connect(url.trim()), 5000, `${spec.side} ws connect`);
    client.dialect = spec.dialect;
    return {
      server,
      client,
      url,
      async close() {
        await client.close();
        await server.kill();
      },
    };
  } catch (e) {
    await server.kill(200);
    throw new Error(`${(e as Error).message}\n${server.stderrTail}`);
  }
}

async function firstLine(stdout: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const reader = stdout.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server stdout closed before printing its URL");
    text += utf8.decode(value);
    const nl = text.indexOf("\n");
    if (nl !== -1) {
      // Keep draining so the server never blocks on stdout.
      (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          // gone
        }
      })();
      return text.slice(0, nl);
    }
  }
}
