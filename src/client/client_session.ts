/**
 * The session under an `ExecServerClient`: opening a link, the `initialize` handshake (with its timeout)
 * and `initialized`, sending requests with their results validated, and what happens when the transport
 * goes: a resume (reconnect with `resumeSessionId`, an extension) or the end of the session.
 *
 * Invariants (design-notes "Client"): every pending call settles exactly once; after the end, new calls
 * fail fast; concurrent reconnects share one attempt, and calls made meanwhile wait for it.
 *
 * @module
 */
import type { EnvironmentInfoResult } from "../protocol/environment.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Initialize, Initialized, type RequestType } from "../protocol/methods.ts";
import { formatIssue } from "../protocol/schema.ts";
import { log } from "../util/log.ts";
import { ExecServerClientError } from "./client_error.ts";
import { DEFAULT_INITIALIZE_TIMEOUT_MS } from "../config/timeouts.ts";
import type { Connector, OpenLink } from "./connector.ts";
import { formatDuration } from "./duration_text.ts";
import { RpcConnection } from "./rpc_connection.ts";

/** The client name Codex sends for environment connections. */
export const DEFAULT_CLIENT_NAME = "codex-environment";

/** How a session connects and whether it resumes. */
export interface SessionOptions {
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
}

/** What a session tells the client it carries. */
export interface SessionEvents {
  /** A server notification (any method; the receiver validates). */
  onNotification(method: string, params: unknown): void;
  /** The transport went away, before a resume is tried. */
  onTransportLost(error: ExecServerClientError): void;
  /** The session is over for good (closed, or lost with no resume); called once. */
  onEnded(error: ExecServerClientError): void;
  /** A resume re-bound the session to a fresh connection. */
  onResumed(): void;
}

interface Handshaken {
  connection: RpcConnection;
  link: OpenLink;
  sessionId: string;
  environmentInfo: EnvironmentInfoResult | null;
}

/** How long a resume keeps retrying that refusal: past a server's default ping deadline (2 x 30 s). */
const RESUME_ATTACHED_RETRY_MS = 65_000;

/** One logical session with an exec-server, across resumes. */
export class ClientSession {
  readonly connector: Connector;
  readonly #options: SessionOptions;
  readonly #events: SessionEvents;
  #connection: RpcConnection | null = null;
  #link: OpenLink | null = null;
  #sessionId = "";
  #environmentInfo: EnvironmentInfoResult | null = null;
  #dead: ExecServerClientError | null = null;
  #closedByOwner = false;
  #resuming: Promise<void> | null = null;
  readonly #disconnected = Promise.withResolvers<ExecServerClientError>();

  constructor(connector: Connector, options: SessionOptions, events: SessionEvents) {
    this.connector = connector;
    this.#options = options;
    this.#events = events;
  }

  /** Connects and performs the handshake of a fresh session. */
  async open(): Promise<void> {
    this.#adopt(await this.#handshake(null));
  }

  /** The session id the server assigned (kept across a resume). */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** The `environmentInfo` of the last `initialize` (Codex 0.169+ servers and ours), else null. */
  get environmentInfo(): EnvironmentInfoResult | null {
    return this.#environmentInfo;
  }

  /** True once the session is over for good. */
  get isDisconnected(): boolean {
    return this.#dead !== null;
  }

  /** Resolves (never rejects) with the error that ended the session for good. */
  get disconnected(): Promise<ExecServerClientError> {
    return this.#disconnected.promise;
  }

  /** Sends a request (after any resume under way) and validates its result with the descriptor's schema. */
  async send(descriptor: RequestType<unknown, unknown>, params: unknown): Promise<unknown> {
    if (this.#resuming) await this.#resuming.catch(() => {});
    this.throwIfDead();
    const connection = this.#connection!;
    let raw: unknown;
    try {
      raw = await connection.request(descriptor.method, params ?? null);
    } catch (error) {
      // A write carrying a `writeId` is idempotent: once the session resumed, send it again (a server
      // that already wrote it answers `accepted` without writing twice).
      if (!isIdempotent(params) || !isDisconnect(error) || !this.#resuming) throw error;
      await this.#resuming;
      this.throwIfDead();
      raw = await this.#connection!.request(descriptor.method, params ?? null);
    }
    const parsed = descriptor.result.safeParse(raw);
    if (!parsed.success) {
      throw ExecServerClientError.protocol(
        `invalid ${descriptor.method} result: ${formatIssue(parsed.error.issues[0], raw)}`,
      );
    }
    return parsed.data;
  }

  /** Throws what new calls fail with once the session (or, outside a resume, its connection) is gone. */
  throwIfDead(): void {
    if (this.#dead) throw this.#dead;
    const failure = this.#connection?.failure;
    if (failure && !this.#resuming) throw failure;
  }

  /** Reconnects with `resumeSessionId`; concurrent callers share one attempt. On failure the session ends. */
  reconnect(): Promise<void> {
    if (this.#closedByOwner) return Promise.reject(ExecServerClientError.closed());
    this.#resuming ??= this.#resume().finally(() => {
      this.#resuming = null;
    });
    return this.#resuming;
  }

  /** Ends the session: pending calls fail with `exec-server transport closed`; the link is disposed. */
  async close(): Promise<void> {
    if (this.#closedByOwner) return;
    this.#closedByOwner = true;
    this.#markDead(ExecServerClientError.closed());
    this.#connection?.close(ExecServerClientError.closed());
    await this.#link?.dispose();
  }

  async #handshake(resumeSessionId: string | null): Promise<Handshaken> {
    const link = await this.connector.open();
    const connection: RpcConnection = new RpcConnection(link.transport, {
      onNotification: (method, params) => this.#events.onNotification(method, params),
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
      connection.notify(Initialized.method, {});
      return {
        connection,
        link,
        sessionId: result.data.sessionId,
        environmentInfo: result.data.environmentInfo ?? null,
      };
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

  #adopt({ connection, link, sessionId, environmentInfo }: Handshaken): void {
    this.#connection = connection;
    this.#link = link;
    this.#sessionId = sessionId;
    this.#environmentInfo = environmentInfo;
    if (this.#closedByOwner) {
      connection.close();
      link.dispose();
    }
  }

  async #resume(): Promise<void> {
    if (!this.connector.reconnectable) {
      throw this.#dead ?? ExecServerClientError.disconnected("this transport cannot reconnect");
    }
    try {
      this.#adopt(await this.#resumeHandshake());
    } catch (error) {
      this.#markDead(error as ExecServerClientError);
      throw error;
    }
    this.#dead = null;
    this.#events.onResumed();
  }

  /**
   * The resume handshake. A server may still hold the session on the old, half-open connection and refuse
   * (-32010) until its ping deadline closes it: retry with backoff, for a bounded time.
   */
  async #resumeHandshake(): Promise<Handshaken> {
    const deadline = performance.now() + RESUME_ATTACHED_RETRY_MS;
    for (let delay = 200;; delay = Math.min(delay * 2, 5_000)) {
      try {
        return await this.#handshake(this.#sessionId || null);
      } catch (error) {
        const attached = error instanceof ExecServerClientError &&
          error.code === ErrorCode.SessionAlreadyAttached;
        if (!attached || this.#closedByOwner || performance.now() + delay > deadline) throw error;
        log.debug(`exec-server client: session ${this.#sessionId} still attached; retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  #onDisconnect(connection: RpcConnection, error: ExecServerClientError): void {
    if (connection !== this.#connection) return;
    this.#events.onTransportLost(error);
    this.#link?.dispose();
    if (this.#closedByOwner) return;
    if (this.#options.resumeSessions && this.connector.reconnectable && this.#sessionId) {
      log.debug(`exec-server client: transport lost (${error.message}); resuming session ${this.#sessionId}`);
      this.reconnect().catch(() => {});
      return;
    }
    this.#markDead(error);
  }

  #markDead(error: ExecServerClientError): void {
    if (this.#dead) return;
    this.#dead = error;
    this.#events.onEnded(error);
    this.#disconnected.resolve(error);
  }
}

function isIdempotent(params: unknown): boolean {
  return typeof params === "object" && params !== null &&
    typeof (params as { writeId?: unknown }).writeId === "string";
}

function isDisconnect(error: unknown): boolean {
  return error instanceof ExecServerClientError && error.kind === "disconnected";
}
