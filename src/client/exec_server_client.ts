/**
 * `ExecServerClient`: one logical client of an exec-server over WebSocket, a stdio command, or any
 * {@link MessageTransport}. Every protocol method is reachable through {@link ExecServerClient.request}
 * with a typed descriptor from `src/protocol/methods.ts`; thin wrappers cover the common calls.
 *
 * The session under it (handshake, resume, the end) is `client_session.ts`; where notifications go is
 * `notification_routes.ts`.
 *
 * Invariants: process and HTTP-stream routes are registered before the request
 * that creates them is sent; every pending call settles exactly once; after a disconnect new calls fail
 * fast, process handles publish `failed` and body streams error.
 *
 * @module
 */
import type { EnvPolicy } from "../protocol/env_policy.ts";
import type { EnvironmentInfoResult } from "../protocol/environment.ts";
import type { FsDirectoryEntry, FsMetadata, FsReadFileResult } from "../protocol/fs.ts";
import type { HttpHeader } from "../protocol/http.ts";
import {
  EnvironmentInfo,
  FsCanonicalize,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWriteFile,
  HttpCancel,
  HttpRequest,
  type ParamsOf,
  ProcessStart,
  type RequestType,
  type ResultOf,
} from "../protocol/methods.ts";
import { wirePath } from "./wire_paths.ts";
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { ExecServerClientError } from "./client_error.ts";
import { ClientSession, type SessionOptions } from "./client_session.ts";
import { type Connector, connectorFor, type ExecServerTransportParams } from "./connector.ts";
import { DEFAULT_MAX_QUEUED_DELTAS, HttpBodyStream } from "./http_body_stream.ts";
import { NotificationRoutes } from "./notification_routes.ts";
import type { ProcessOutputEvent } from "./process_event.ts";
import {
  collectOutput,
  ProcessHandle,
  type ProcessHandleOptions,
  type ProcessHost,
} from "./process_handle.ts";

/** Codex's default `envPolicy` (inherit everything, no filtering): what a shell user expects. */
export const INHERIT_ALL_ENV_POLICY: EnvPolicy = {
  inherit: "all",
  ignoreDefaultExcludes: true,
  exclude: [],
  set: {},
  includeOnly: [],
};

/** Options of {@link ExecServerClient.connect}. */
export interface ExecServerClientOptions extends SessionOptions {
  /** Tunables for process handles. */
  process?: ProcessHandleOptions;
}

/**
 * `process/start` params with client-side defaults: `processId` generated, `cwd` `.`, `env` `{}`, `tty`
 * false, and, as for {@link ExecServerClient.run}, `envPolicy` {@link INHERIT_ALL_ENV_POLICY} (the child
 * inherits the server's environment, `env` laid over it); `envPolicy: null` gives the child exactly `env`.
 */
export type StartProcessParams =
  & Omit<ParamsOf<typeof ProcessStart>, "processId" | "cwd" | "env" | "tty">
  & Partial<Pick<ParamsOf<typeof ProcessStart>, "processId" | "cwd" | "env" | "tty">>;

/** Options of {@link ExecServerClient.run}. */
export interface RunOptions {
  cwd?: string;
  /** Overlay applied last (see `envPolicy`). */
  env?: Record<string, string>;
  /** Default {@link INHERIT_ALL_ENV_POLICY}; `null` gives the child exactly `env`. */
  envPolicy?: EnvPolicy | null;
  tty?: boolean;
  rows?: number;
  cols?: number;
  /** Bytes for stdin, followed by EOF (`process/closeStdin`, an extension). */
  stdin?: Uint8Array | string;
  /** Called with each output event as it is published. */
  onOutput?: (event: ProcessOutputEvent) => void;
}

/** What {@link ExecServerClient.run} returns. */
export interface RunResult {
  /** Exit code (`128 + n` for signal `n`), or `null` when the process was lost. */
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Terminal output (tty processes). */
  pty: Uint8Array;
  /** Set when the client lost the process. */
  failure: string | null;
  /** Output bytes the server evicted before the client read them (0 normally). */
  droppedBytes: number;
}

/** A streamed `http/request` response. */
export interface HttpStreamResponse {
  /** The wire request id (`http-<n>`). */
  requestId: string;
  status: number;
  headers: HttpHeader[];
  body: ReadableStream<Uint8Array>;
}

/** Params of {@link ExecServerClient.httpStream}: `requestId` and `streamResponse` are set by the client. */
export type HttpStreamParams = Omit<ParamsOf<typeof HttpRequest>, "requestId" | "streamResponse">;

/** A connected exec-server client. Create it with {@link ExecServerClient.connect}. */
export class ExecServerClient {
  readonly #options: ExecServerClientOptions;
  readonly #session: ClientSession;
  readonly #routes = new NotificationRoutes();
  #nextProcessNumber = 1;
  #nextHttpNumber = 1;
  readonly #host: ProcessHost = {
    request: <P, R>(descriptor: RequestType<P, R>, params: P) =>
      this.#session.send(descriptor as RequestType<unknown, unknown>, params) as Promise<R>,
    releaseProcess: (id) => this.#routes.processes.delete(id),
  };

  private constructor(connector: Connector, options: ExecServerClientOptions) {
    this.#options = options;
    this.#session = new ClientSession(connector, options, {
      onNotification: (method, params) => this.#routes.route(method, params),
      onTransportLost: (error) => this.#routes.failStreams(error),
      onEnded: (error) => this.#routes.failAll(error),
      onResumed: () => this.#routes.catchUp(),
    });
  }

  /**
   * Connects and performs the `initialize` handshake.
   *
   * @throws {ExecServerClientError} `spawn`, `connect`, `connect-timeout`, `initialize-timeout`,
   * `disconnected` or `server` (initialize rejected).
   */
  static async connect(
    params: ExecServerTransportParams,
    options: ExecServerClientOptions = {},
  ): Promise<ExecServerClient> {
    const client = new ExecServerClient(connectorFor(params), options);
    await client.#session.open();
    return client;
  }

  /** The session id the server assigned (kept across a resume). */
  get sessionId(): string {
    return this.#session.sessionId;
  }

  /** The transport kind (`websocket`, `stdio` or `transport`). */
  get transportKind(): ExecServerTransportParams["kind"] {
    return this.#session.connector.kind;
  }

  /** Whether a fresh connection may replace this one after a disconnect (WebSocket: yes; stdio: one-shot). */
  get reconnectable(): boolean {
    return this.#session.connector.reconnectable;
  }

  /** True once the transport is gone for good (closed, or disconnected with no resume under way). */
  get isDisconnected(): boolean {
    return this.#session.isDisconnected;
  }

  /** Resolves (never rejects) with the error that ended the client for good. */
  get disconnected(): Promise<ExecServerClientError> {
    return this.#session.disconnected;
  }

  /**
   * Sends any request by its descriptor; the result is validated with the descriptor's schema.
   *
   * @example
   * ```ts
   * const info = await client.request(EnvironmentInfo, null);
   * ```
   * @throws {ExecServerClientError}
   */
  // deno-lint-ignore no-explicit-any -- any descriptor: its own types are inferred through ParamsOf/ResultOf
  request<D extends RequestType<any, any>>(descriptor: D, params: ParamsOf<D>): Promise<ResultOf<D>> {
    return this.#session.send(descriptor, params) as Promise<ResultOf<D>>;
  }

  /**
   * The server's environment: its login shell and (Codex 0.169+ servers, and ours) version, home, cwd,
   * platform and capabilities. Taken from `initialize` when the server sent it there, else asked with
   * `environment/info` (a 0.140 server, which reports only the shell).
   */
  environmentInfo(): Promise<EnvironmentInfoResult> {
    const known = this.#session.environmentInfo;
    if (!known) return this.request(EnvironmentInfo, null);
    try {
      this.#session.throwIfDead(); // like any call: a dead session fails fast
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(known);
  }

  /** A path in the server's dialect (see `wire_paths.ts`). */
  #wire(path: string): string {
    return wirePath(path, this.#session.environmentInfo);
  }

  /** `fs/readFile`: the whole file, or `length` bytes from `offset` (extension). */
  async readFile(path: string, range: { offset?: number; length?: number } = {}): Promise<Uint8Array> {
    return decodeBase64((await this.readFileRange(path, range)).dataBase64);
  }

  /** `fs/readFile` with its raw result (ranged reads also report `size` and `eof`). */
  readFileRange(path: string, range: { offset?: number; length?: number } = {}): Promise<FsReadFileResult> {
    return this.request(FsReadFile, { path: this.#wire(path), ...range });
  }

  /** `fs/writeFile`: create or truncate, or (extensions) write at `offset` / `append`. */
  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: { offset?: number; append?: boolean } = {},
  ): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.request(FsWriteFile, { path: this.#wire(path), dataBase64: encodeBase64(bytes), ...options });
  }

  /** `fs/createDirectory` (recursive by default, as on the wire). */
  async createDirectory(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await this.request(FsCreateDirectory, { path: this.#wire(path), ...options });
  }

  /** `fs/getMetadata`. */
  getMetadata(path: string): Promise<FsMetadata> {
    return this.request(FsGetMetadata, { path: this.#wire(path) });
  }

  /** `fs/canonicalize`: the real path, as a `file://` URI. */
  async canonicalize(path: string): Promise<string> {
    return (await this.request(FsCanonicalize, { path: this.#wire(path) })).path;
  }

  /** `fs/readDirectory` (raw readdir order). */
  async readDirectory(path: string): Promise<FsDirectoryEntry[]> {
    return (await this.request(FsReadDirectory, { path: this.#wire(path) })).entries;
  }

  /** `fs/remove` (recursive and force by default, as on the wire). */
  async remove(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    await this.request(FsRemove, { path: this.#wire(path), ...options });
  }

  /** `fs/copy`. */
  async copy(
    sourcePath: string,
    destinationPath: string,
    options: { recursive?: boolean } = {},
  ): Promise<void> {
    await this.request(FsCopy, {
      sourcePath: this.#wire(sourcePath),
      destinationPath: this.#wire(destinationPath),
      recursive: options.recursive ?? false,
    });
  }

  /** Buffered `http/request` (the whole body in `bodyBase64`). */
  httpRequest(params: Omit<ParamsOf<typeof HttpRequest>, "requestId"> & { requestId?: string }) {
    return this.request(HttpRequest, {
      ...params,
      requestId: params.requestId ?? `buffered-${this.#nextHttpNumber++}`,
    });
  }

  /** Streamed `http/request`: resolves at the headers; the body arrives as `bodyDelta` frames. */
  async httpStream(params: HttpStreamParams): Promise<HttpStreamResponse> {
    this.#session.throwIfDead();
    const requestId = `http-${this.#nextHttpNumber++}`;
    const stream = new HttpBodyStream(
      requestId,
      () => this.#routes.httpStreams.delete(requestId),
      DEFAULT_MAX_QUEUED_DELTAS,
      // Stops the upstream on the host; a server without http/cancel (Codex) answers -32601: ignored.
      () => Promise.resolve().then(() => this.request(HttpCancel, { requestId })).catch(() => {}),
    );
    this.#routes.httpStreams.set(requestId, stream); // before sending: frames follow the response closely
    try {
      const result = await this.request(HttpRequest, { ...params, requestId, streamResponse: true });
      return { requestId, status: result.status, headers: result.headers, body: stream.body };
    } catch (error) {
      stream.fail(error as ExecServerClientError);
      stream.body.cancel().catch(() => {});
      throw error;
    }
  }

  /**
   * Starts a process. Its route is registered before `process/start` is sent, because its events can
   * overtake the response. Sends `ackMode: "client"` unless given: the handle acknowledges output as its
   * consumer takes it (`process/ack`), so the server keeps what was sent until then and pauses the child
   * while the consumer is behind. Codex servers ignore the member.
   */
  async startProcess(params: StartProcessParams): Promise<ProcessHandle> {
    this.#session.throwIfDead();
    const processId = params.processId ?? `proc-${this.#nextProcessNumber++}`;
    if (this.#routes.processes.has(processId)) {
      throw new ExecServerClientError("protocol", `process id ${processId} is already in use by this client`);
    }
    const ackMode = params.ackMode ?? "client";
    const handle = new ProcessHandle(processId, this.#host, this.#options.process, {
      acknowledges: ackMode === "client",
    });
    this.#routes.processes.set(processId, handle);
    try {
      await this.request(ProcessStart, {
        ...params,
        ackMode,
        processId,
        cwd: this.#wire(params.cwd ?? "."),
        env: params.env ?? {},
        envPolicy: params.envPolicy === undefined ? INHERIT_ALL_ENV_POLICY : params.envPolicy,
        tty: params.tty ?? false,
      });
    } catch (error) {
      this.#routes.processes.delete(processId);
      handle.events.cancel().catch(() => {});
      throw error;
    }
    return handle;
  }

  /** Runs `argv` to completion and collects its output (and exit code). */
  async run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
    const handle = await this.startProcess({
      argv,
      cwd: options.cwd,
      env: options.env ?? {},
      envPolicy: options.envPolicy === undefined ? INHERIT_ALL_ENV_POLICY : options.envPolicy,
      tty: options.tty ?? false,
      pipeStdin: options.stdin !== undefined,
      rows: options.rows,
      cols: options.cols,
    });
    const stdinDone = options.stdin === undefined ? Promise.resolve() : (async () => {
      await handle.write(options.stdin!);
      await handle.closeStdin();
    })();
    const outputs: ProcessOutputEvent[] = [];
    let droppedBytes = 0;
    for await (const event of handle) {
      if (event.type === "output") {
        outputs.push(event);
        options.onOutput?.(event);
      } else if (event.type === "dropped") droppedBytes += event.bytes;
    }
    const outcome = await handle.wait();
    await stdinDone.catch((error) => {
      if (outcome.failure === null && handle.exitCode === null) throw error;
    });
    return { ...collectOutput(outputs), exitCode: outcome.exitCode, failure: outcome.failure, droppedBytes };
  }

  /**
   * Reconnects with `resumeSessionId` (extension; needs a reconnectable transport) and re-binds every live
   * process handle, catching each up with `process/read` (the server drops notifications while detached).
   * Concurrent callers share one attempt. On failure the live handles fail.
   */
  reconnect(): Promise<void> {
    return this.#session.reconnect();
  }

  /** Closes the client: pending calls fail with `exec-server transport closed`; a stdio child is terminated. */
  close(): Promise<void> {
    return this.#session.close();
  }
}
