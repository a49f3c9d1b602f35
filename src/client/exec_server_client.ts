/**
 * `ExecServerClient`: one logical client of an exec-server over WebSocket, a stdio command, or any
 * {@link MessageTransport}. Every protocol method is reachable through {@link ExecServerClient.request}
 * with a typed descriptor from `src/protocol/methods.ts`; thin wrappers cover the common calls.
 *
 * Invariants: process and HTTP-stream routes are registered before the request
 * that creates them is sent; every pending call settles exactly once; after a disconnect new calls fail
 * fast, process handles publish `failed` and body streams error.
 *
 * @module
 */
import { DEFAULT_INITIALIZE_TIMEOUT_MS } from "../config/timeouts.ts";
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
  HttpBodyDelta,
  HttpRequest,
  Initialize,
  type ParamsOf,
  ProcessClosed,
  ProcessExited,
  ProcessOutput,
  ProcessStart,
  type RequestType,
  type ResultOf,
} from "../protocol/methods.ts";
import { formatIssue } from "../protocol/schema.ts";
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { log } from "../util/log.ts";
import { ExecServerClientError } from "./client_error.ts";
import { type Connector, connectorFor, type ExecServerTransportParams, type OpenLink } from "./connector.ts";
import { formatDuration } from "./duration_text.ts";
import { HttpBodyStream } from "./http_body_stream.ts";
import type { ProcessOutputEvent } from "./process_event.ts";
import {
  collectOutput,
  ProcessHandle,
  type ProcessHandleOptions,
  type ProcessHost,
} from "./process_handle.ts";
import { RpcConnection } from "./rpc_connection.ts";

/** The client name Codex sends for environment connections. */
export const DEFAULT_CLIENT_NAME = "codex-environment";

/** Codex's default `envPolicy` (inherit everything, no filtering): what a shell user expects. */
export const INHERIT_ALL_ENV_POLICY: EnvPolicy = {
  inherit: "all",
  ignoreDefaultExcludes: true,
  exclude: [],
  set: {},
  includeOnly: [],
};

/** Options of {@link ExecServerClient.connect}. */
export interface ExecServerClientOptions {
  /** Sent in `initialize` (default `codex-environment`). */
  clientName?: string;
  /** Covers `initialize` + `initialized` (default 10 s). */
  initializeTimeoutMs?: number;
  /**
   * After an unexpected disconnect of a reconnectable (WebSocket) transport, reconnect once with
   * `resumeSessionId` and re-bind live process handles instead of failing them (extension; Codex
   * 0.140.0 always starts a fresh session).
   */
  resumeSessions?: boolean;
  /** Tunables for process handles. */
  process?: ProcessHandleOptions;
}

/** `process/start` params with client-side defaults: `processId` generated, `cwd` `.`, `env` `{}`, `tty` false. */
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
  readonly #connector: Connector;
  readonly #options: ExecServerClientOptions;
  #connection: RpcConnection | null = null;
  #link: OpenLink | null = null;
  #sessionId = "";
  #dead: ExecServerClientError | null = null;
  #closedByOwner = false;
  #resuming: Promise<void> | null = null;
  readonly #processes = new Map<string, ProcessHandle>();
  readonly #httpStreams = new Map<string, HttpBodyStream>();
  #nextProcessNumber = 1;
  #nextHttpNumber = 1;
  readonly #disconnected = Promise.withResolvers<ExecServerClientError>();
  readonly #host: ProcessHost = {
    request: <P, R>(descriptor: RequestType<P, R>, params: P) =>
      this.#send(descriptor as RequestType<unknown, unknown>, params) as Promise<R>,
    releaseProcess: (id) => this.#processes.delete(id),
  };

  private constructor(connector: Connector, options: ExecServerClientOptions) {
    this.#connector = connector;
    this.#options = options;
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
    const { connection, link, sessionId } = await client.#handshake(null);
    client.#adopt(connection, link, sessionId);
    return client;
  }

  /** The session id the server assigned (kept across a resume). */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** The transport kind (`websocket`, `stdio` or `transport`). */
  get transportKind(): ExecServerTransportParams["kind"] {
    return this.#connector.kind;
  }

  /** Whether a fresh connection may replace this one after a disconnect (WebSocket: yes; stdio: one-shot). */
  get reconnectable(): boolean {
    return this.#connector.reconnectable;
  }

  /** True once the transport is gone for good (closed, or disconnected with no resume under way). */
  get isDisconnected(): boolean {
    return this.#dead !== null;
  }

  /** Resolves (never rejects) with the error that ended the client for good. */
  get disconnected(): Promise<ExecServerClientError> {
    return this.#disconnected.promise;
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
  request<D extends RequestType<any, any>>(descriptor: D, params: ParamsOf<D>): Promise<ResultOf<D>> {
    return this.#send(descriptor, params) as Promise<ResultOf<D>>;
  }

  /** `environment/info`: the server's login shell. */
  environmentInfo(): Promise<EnvironmentInfoResult> {
    return this.request(EnvironmentInfo, null);
  }

  /** `fs/readFile`: the whole file, or `length` bytes from `offset` (extension). */
  async readFile(path: string, range: { offset?: number; length?: number } = {}): Promise<Uint8Array> {
    return decodeBase64((await this.readFileRange(path, range)).dataBase64);
  }

  /** `fs/readFile` with its raw result (ranged reads also report `size` and `eof`). */
  readFileRange(path: string, range: { offset?: number; length?: number } = {}): Promise<FsReadFileResult> {
    return this.request(FsReadFile, { path, ...range });
  }

  /** `fs/writeFile`: create or truncate, or (extensions) write at `offset` / `append`. */
  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: { offset?: number; append?: boolean } = {},
  ): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.request(FsWriteFile, { path, dataBase64: encodeBase64(bytes), ...options });
  }

  /** `fs/createDirectory` (recursive by default, as on the wire). */
  async createDirectory(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await this.request(FsCreateDirectory, { path, ...options });
  }

  /** `fs/getMetadata`. */
  getMetadata(path: string): Promise<FsMetadata> {
    return this.request(FsGetMetadata, { path });
  }

  /** `fs/canonicalize`: the real path, as a `file://` URI. */
  async canonicalize(path: string): Promise<string> {
    return (await this.request(FsCanonicalize, { path })).path;
  }

  /** `fs/readDirectory` (raw readdir order). */
  async readDirectory(path: string): Promise<FsDirectoryEntry[]> {
    return (await this.request(FsReadDirectory, { path })).entries;
  }

  /** `fs/remove` (recursive and force by default, as on the wire). */
  async remove(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    await this.request(FsRemove, { path, ...options });
  }

  /** `fs/copy`. */
  async copy(
    sourcePath: string,
    destinationPath: string,
    options: { recursive?: boolean } = {},
  ): Promise<void> {
    await this.request(FsCopy, { sourcePath, destinationPath, recursive: options.recursive ?? false });
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
    this.#throwIfDead();
    const requestId = `http-${this.#nextHttpNumber++}`;
    const stream = new HttpBodyStream(requestId, () => this.#httpStreams.delete(requestId));
    this.#httpStreams.set(requestId, stream); // before sending: frames follow the response closely
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
    this.#throwIfDead();
    const processId = params.processId ?? `proc-${this.#nextProcessNumber++}`;
    if (this.#processes.has(processId)) {
      throw new ExecServerClientError("protocol", `process id ${processId} is already in use by this client`);
    }
    const ackMode = params.ackMode ?? "client";
    const handle = new ProcessHandle(processId, this.#host, this.#options.process, {
      acknowledges: ackMode === "client",
    });
    this.#processes.set(processId, handle);
    try {
      await this.request(ProcessStart, {
        ...params,
        ackMode,
        processId,
        cwd: params.cwd ?? ".",
        env: params.env ?? {},
        tty: params.tty ?? false,
      });
    } catch (error) {
      this.#processes.delete(processId);
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
    if (this.#closedByOwner) return Promise.reject(ExecServerClientError.closed());
    this.#resuming ??= this.#resume().finally(() => {
      this.#resuming = null;
    });
    return this.#resuming;
  }

  /** Closes the client: pending calls fail with `exec-server transport closed`; a stdio child is terminated. */
  async close(): Promise<void> {
    if (this.#closedByOwner) return;
    this.#closedByOwner = true;
    this.#markDead(ExecServerClientError.closed());
    this.#connection?.close(ExecServerClientError.closed());
    await this.#link?.dispose();
  }

  // ---------------------------------------------------------------------------------------------------

  async #send(descriptor: RequestType<unknown, unknown>, params: unknown): Promise<unknown> {
    if (this.#resuming) await this.#resuming.catch(() => {});
    this.#throwIfDead();
    const raw = await this.#connection!.request(descriptor.method, params ?? null);
    const parsed = descriptor.result.safeParse(raw);
    if (!parsed.success) {
      throw ExecServerClientError.protocol(
        `invalid ${descriptor.method} result: ${formatIssue(parsed.error.issues[0], raw)}`,
      );
    }
    return parsed.data;
  }

  #throwIfDead(): void {
    if (this.#dead) throw this.#dead;
    const failure = this.#connection?.failure;
    if (failure && !this.#resuming) throw failure;
  }

  async #handshake(
    resumeSessionId: string | null,
  ): Promise<{ connection: RpcConnection; link: OpenLink; sessionId: string }> {
    const link = await this.#connector.open();
    const connection: RpcConnection = new RpcConnection(link.transport, {
      onNotification: (method, params) => this.#onNotification(method, params),
      onDisconnect: (error) => this.#onDisconnect(connection, error),
    });
    const timeoutMs = this.#options.initializeTimeoutMs ?? DEFAULT_INITIALIZE_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() =>
        reject(
          new ExecServerClientError(
            "initialize-timeout",
            `timed out waiting for exec-server initialize handshake after ${formatDuration(timeoutMs)}`,
          ),
        ), timeoutMs);
    });
    try {
      const raw = await Promise.race([
        connection.request(Initialize.method, {
          clientName: this.#options.clientName ?? DEFAULT_CLIENT_NAME,
          resumeSessionId,
        }),
        timeout,
      ]);
      const result = Initialize.result.safeParse(raw);
      if (!result.success) throw ExecServerClientError.protocol("invalid initialize result");
      connection.notify("initialized", {});
      return { connection, link, sessionId: result.data.sessionId };
    } catch (error) {
      connection.close(error as ExecServerClientError);
      await link.dispose();
      const detail = link.diagnostics();
      if (detail && error instanceof ExecServerClientError && error.kind === "disconnected") {
        throw ExecServerClientError.disconnected(detail);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #adopt(connection: RpcConnection, link: OpenLink, sessionId: string): void {
    this.#connection = connection;
    this.#link = link;
    this.#sessionId = sessionId;
    if (this.#closedByOwner) {
      connection.close();
      link.dispose();
    }
  }

  async #resume(): Promise<void> {
    if (!this.#connector.reconnectable) {
      throw this.#dead ?? ExecServerClientError.disconnected("this transport cannot reconnect");
    }
    try {
      const { connection, link, sessionId } = await this.#handshake(this.#sessionId || null);
      this.#adopt(connection, link, sessionId);
    } catch (error) {
      this.#markDead(error as ExecServerClientError);
      throw error;
    }
    this.#dead = null;
    // Not awaited: the catch-up reads queue behind this very reconnect (see #send).
    for (const handle of this.#processes.values()) handle.catchUp();
  }

  #onNotification(method: string, params: unknown): void {
    switch (method) {
      case ProcessOutput.method: {
        const parsed = ProcessOutput.params.safeParse(params);
        if (!parsed.success) return this.#ignore(method);
        let chunk: Uint8Array;
        try {
          chunk = decodeBase64(parsed.data.chunk);
        } catch {
          return this.#ignore(method);
        }
        const { processId, seq, stream } = parsed.data;
        this.#processes.get(processId)?.accept({ type: "output", seq, stream, chunk });
        return;
      }
      case ProcessExited.method: {
        const parsed = ProcessExited.params.safeParse(params);
        if (!parsed.success) return this.#ignore(method);
        const { processId, seq, exitCode } = parsed.data;
        this.#processes.get(processId)?.accept({ type: "exited", seq, exitCode });
        return;
      }
      case ProcessClosed.method: {
        const parsed = ProcessClosed.params.safeParse(params);
        if (!parsed.success) return this.#ignore(method);
        this.#processes.get(parsed.data.processId)?.accept({ type: "closed", seq: parsed.data.seq });
        return;
      }
      case HttpBodyDelta.method: {
        const parsed = HttpBodyDelta.params.safeParse(params);
        if (!parsed.success) return this.#ignore(method);
        this.#httpStreams.get(parsed.data.requestId)?.accept(parsed.data);
        return;
      }
      default:
        log.debug(`exec-server client: ignoring unknown notification ${method}`);
    }
  }

  #ignore(method: string): void {
    log.debug(`exec-server client: ignoring malformed ${method} notification`);
  }

  #onDisconnect(connection: RpcConnection, error: ExecServerClientError): void {
    if (connection !== this.#connection) return;
    for (const stream of [...this.#httpStreams.values()]) stream.fail(error);
    this.#link?.dispose();
    if (this.#closedByOwner) return;
    if (this.#options.resumeSessions && this.#connector.reconnectable && this.#sessionId) {
      log.debug(`exec-server client: transport lost (${error.message}); resuming session ${this.#sessionId}`);
      this.reconnect().catch(() => {});
      return;
    }
    this.#markDead(error);
  }

  #markDead(error: ExecServerClientError): void {
    if (this.#dead) return;
    this.#dead = error;
    const message = error.kind === "closed" ? error.message : ExecServerClientError.disconnected().message;
    for (const handle of [...this.#processes.values()]) handle.fail(message);
    for (const stream of [...this.#httpStreams.values()]) stream.fail(error);
    this.#disconnected.resolve(error);
  }
}
