/**
 * `ExecutorStdioTransport`: an MCP SDK client `Transport` for a stdio MCP server that runs on an
 * exec-server (Codex's "event stream" path): `process/start` with `pipeStdin: true` and
 * `envPolicy.inherit: "core"`, messages written with `process/write`, newline-delimited JSON-RPC read
 * from pushed `process/output` events (no `process/read` polling).
 *
 * @module
 */
// Extensionless type imports: the package's "./*" export maps `x.js` to no declaration file (untyped).
import { type JSONRPCMessage, JSONRPCMessageSchema, type Transport } from "./mcp_sdk.ts";
import type { ProcessEvent } from "../client/process_event.ts";
import type { ProcessHandle } from "../client/process_handle.ts";
import type { EnvPolicy } from "../protocol/env_policy.ts";
import { LineFramer } from "../rpc/line_framer.ts";
import { log } from "../util/log.ts";
import { clientOf, type ExecutorSource } from "./executor_source.ts";
import { McpServerProcessError } from "./mcp_transport_errors.ts";

/** How to run the MCP server (Codex's `mcp_servers.<name>` stdio entry). */
export interface ExecutorStdioServerParams {
  /** The program, run directly with a PATH lookup on the executor (no shell). */
  command: string;
  args?: string[];
  /** Added on top of the inherited environment (overrides it). */
  env?: Record<string, string>;
  /** Working directory on the executor; Codex requires an absolute path for remote environments. */
  cwd?: string;
  /** Default {@link MCP_STDIO_ENV_POLICY} (the executor's core variables only). */
  envPolicy?: EnvPolicy | null;
}

/** Tunables of {@link ExecutorStdioTransport}. */
export interface ExecutorStdioTransportOptions {
  /** How long {@link ExecutorStdioTransport.close} waits after closing stdin before terminating (default 2 s). */
  closeGraceMs?: number;
  /** The `process/start` process id (default: the client's generated one). */
  processId?: string;
  /** The server's stderr, decoded as UTF-8 (default: logged at debug level). */
  onStderr?: (text: string) => void;
  /** Largest message line accepted from the server (default 64 MiB); larger ones are reported and skipped. */
  maxMessageBytes?: number;
}

/** Codex's env policy for stdio MCP servers run in an environment: inherit the core variables only. */
export const MCP_STDIO_ENV_POLICY: EnvPolicy = {
  inherit: "core",
  ignoreDefaultExcludes: true,
  exclude: [],
  set: {},
  includeOnly: [],
};

/** Default grace between closing the server's stdin and terminating it. */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * A stdio MCP server on an exec-server, as an MCP SDK client transport.
 *
 * @example
 * ```ts
 * const transport = new ExecutorStdioTransport(client, { command: "my-mcp-server", cwd: "/srv" });
 * const mcp = new Client({ name: "demo", version: "1.0.0" });
 * await mcp.connect(transport);
 * console.log((await mcp.listTools()).tools);
 * ```
 */
export class ExecutorStdioTransport implements Transport {
  /** Called once when the transport closes: {@link close}, the process ending, or the executor lost. */
  onclose?: () => void;
  /** Called for unparseable output, failed writes, and (before `onclose`) an unexpected end. */
  onerror?: (error: Error) => void;
  /** Called with every JSON-RPC message the server writes. */
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #source: ExecutorSource;
  readonly #params: ExecutorStdioServerParams;
  readonly #options: ExecutorStdioTransportOptions;
  #handle: ProcessHandle | null = null;
  #started = false;
  #closing = false;
  #closed = false;
  /** Writes are chained: an exec-server may run concurrent `process/write` requests in any order. */
  #writeChain: Promise<unknown> = Promise.resolve();
  #pump: Promise<void> | null = null;
  #reader: ReadableStreamDefaultReader<ProcessEvent> | null = null;

  /** Describes the server to run; nothing happens until {@link start} (called by `Client.connect`). */
  constructor(
    source: ExecutorSource,
    params: ExecutorStdioServerParams,
    options: ExecutorStdioTransportOptions = {},
  ) {
    this.#source = source;
    this.#params = params;
    this.#options = options;
  }

  /** The executor's process id, once started. */
  get processId(): string | undefined {
    return this.#handle?.processId;
  }

  /** The server's exit code once it exited (`null` before, or when it was lost). */
  get exitCode(): number | null {
    return this.#handle?.exitCode ?? null;
  }

  /** Starts the server process and begins reading its stdout. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("ExecutorStdioTransport already started");
    this.#started = true;
    const client = await clientOf(this.#source);
    const { command, args = [], env = {}, cwd, envPolicy } = this.#params;
    this.#handle = await client.startProcess({
      processId: this.#options.processId,
      argv: [command, ...args],
      cwd,
      env,
      envPolicy: envPolicy === undefined ? MCP_STDIO_ENV_POLICY : envPolicy,
      pipeStdin: true,
      tty: false,
      // Pushed events only: delivered output need not stay retained on the server.
      ackMode: "notification",
    });
    this.#pump = this.#readEvents(this.#handle);
    // close() ran while the process was starting: it found no process, so end this one now.
    if (this.#closing) await this.#handle.terminate().catch(() => {});
  }

  /** Writes one message as a JSON line to the server's stdin. */
  send(message: JSONRPCMessage): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return Promise.reject(new Error("ExecutorStdioTransport is not started"));
    if (this.#closed || this.#closing) return Promise.reject(new Error("ExecutorStdioTransport is closed"));
    const line = JSON.stringify(message) + "\n";
    const write = this.#writeChain.catch(() => {}).then(async () => {
      const status = await handle.write(line);
      if (status !== "accepted") {
        throw new Error(`MCP server stdin is not writable (process/write: ${status})`);
      }
    });
    this.#writeChain = write;
    return write;
  }

  /** Closes stdin, waits up to the grace period for the server to exit, then terminates it. */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return await this.#pump?.catch(() => {});
    this.#closing = true;
    const handle = this.#handle;
    if (handle !== null && !handle.finished) {
      await this.#writeChain.catch(() => {});
      await handle.closeStdin().catch(() => {});
      const grace = this.#options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
      if (!(await settlesWithin(handle.wait(), grace))) {
        await handle.terminate().catch(() => {});
        // Bounded: a lost executor fails the handle anyway, but never hang close() on it.
        if (!(await settlesWithin(handle.wait(), grace))) this.#reader?.cancel().catch(() => {});
      }
    }
    await this.#pump?.catch(() => {});
    this.#finish();
  }

  async #readEvents(handle: ProcessHandle): Promise<void> {
    const lines: string[] = [];
    const deliver = async () => {
      for (const line of lines.splice(0)) {
        this.#onLine(line);
        // The SDK runs notification handlers one microtask later but responses at once: yield, so a
        // progress notification is handled before the response that follows it in the same chunk.
        await Promise.resolve();
      }
    };
    const framer = new LineFramer(this.#options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, {
      onLine: (line) => lines.push(line),
      onFramingError: (reason, prefix) =>
        this.#error(new Error(`MCP server sent a bad line (${reason}): ${prefix}`)),
    });
    const stderr = new TextDecoder();
    let failure: string | null = null;
    const reader = handle.events.getReader();
    this.#reader = reader;
    try {
      // Bounded by the process: `closed` or `failed` ends the stream (close() cancels it as a last resort).
      while (true) {
        const { value: event, done } = await reader.read();
        if (done) break;
        if (event.type === "output") {
          if (event.stream === "stderr") this.#onStderr(stderr.decode(event.chunk, { stream: true }));
          else {
            framer.push(event.chunk);
            await deliver();
          }
        } else if (event.type === "dropped") {
          this.#error(new Error(`lost ${event.bytes} bytes of MCP server output`));
        } else if (event.type === "failed") {
          failure = event.message;
        }
      }
      framer.end();
      await deliver();
    } catch (error) {
      failure = (error as Error).message;
    }
    if (!this.#closing) {
      const exitCode = handle.exitCode;
      const reason = failure !== null
        ? `MCP server process lost: ${failure}`
        : `MCP server process exited with code ${exitCode}`;
      this.#error(new McpServerProcessError(reason, failure !== null ? null : exitCode));
    }
    this.#finish();
  }

  #onLine(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(line));
    } catch (error) {
      this.#error(new Error(`MCP server sent an invalid JSON-RPC message: ${(error as Error).message}`));
      return;
    }
    this.onmessage?.(message);
  }

  #onStderr(text: string): void {
    if (text === "") return;
    if (this.#options.onStderr) this.#options.onStderr(text);
    else log.debug(`mcp server stderr: ${text.trimEnd()}`);
  }

  #error(error: Error): void {
    this.onerror?.(error);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
