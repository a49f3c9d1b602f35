/**
 * The server side of one JSON-RPC connection: parse and classify messages, enforce the handshake,
 * dispatch requests concurrently (a long-poll never delays anything else; `--concurrent-requests N`
 * runs at most N at once, the rest waiting in arrival order), and send responses and notifications
 * through the transport's queue.
 *
 * @module
 */
import {
  encodeError,
  encodeNotification,
  encodeResult,
  encodeResultParts,
  type NotificationMessage,
  parseMessage,
  type RequestId,
  type RequestMessage,
  sniffLeadingId,
} from "../protocol/envelope.ts";
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { type GateFamily, Initialized } from "../protocol/methods.ts";
import { FairInbox } from "../rpc/fair_inbox.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import type { MessagePart } from "../rpc/write_queue.ts";
import { log } from "../util/log.ts";
import type { NotificationSink } from "../rpc/handler_context.ts";
import {
  decodeRequestParams,
  type MethodEntry,
  type MethodTable,
  type PerConnection,
  type RequestContext,
} from "./method_table.ts";
import type { Session } from "./session.ts";
import type { AuditEvents } from "./audit.ts";
import type { ServerMetrics } from "./metrics.ts";

/** Handshake state of a connection. */
export type HandshakeState = "new" | "initializing" | "ready" | "closed";

/** A handler's answer when work must follow the response (e.g. streamed body frames). */
export class FollowUp<R> {
  constructor(readonly result: R, readonly afterResponse: () => void) {}
}

/**
 * A handler's answer already encoded as JSON (in parts, concatenated on the wire), for results carrying
 * large base64 payloads: base64 never needs JSON escaping, so `JSON.stringify` and any copy of the
 * payload into a bigger string are skipped. `R` documents the decoded shape.
 */
export class EncodedResult<R> {
  declare readonly shape?: R;
  /** JSON text in parts; a bytes part stands for its base64 (see `MessagePart`). */
  constructor(readonly parts: readonly MessagePart[]) {}
}

/** What the connection needs from the server. */
export interface ConnectionHost {
  /** Every method this server answers, `initialize` included. */
  readonly methods: MethodTable;
  /** Requests of one connection that run at once; null: no limit. */
  readonly concurrentRequests: number | null;
  /** The connection closed (after its per-connection state was disposed). */
  onConnectionClosed(connection: ServerConnection): void;
  /** Where the connection's close (and the handlers' events) are reported. */
  readonly audit: AuditEvents;
  /** Where answered requests are counted. */
  readonly metrics: ServerMetrics;
}

let nextConnectionId = 1;

/** One client connection. */
export class ServerConnection {
  readonly id = nextConnectionId++;
  readonly transport: MessageTransport;
  /** The client's address (`host:port`), or the transport kind when there is none (stdio). */
  readonly peer: string;
  session: Session | null = null;
  /** The `clientName` of its `initialize`, once sent. */
  clientName: string | null = null;
  readonly #openedAt = performance.now();
  #state: HandshakeState = "new";
  #abort = new AbortController();
  readonly #host: ConnectionHost;
  /** Inbound messages, handled in time slices so no client's burst stalls the others. */
  readonly #inbox = new FairInbox<string>((text) => this.#onMessage(text));
  readonly #closed = Promise.withResolvers<string>();
  /** Handlers' per-connection state, disposed in creation order on close. */
  readonly #perConnection = new Map<PerConnection<unknown>, { value: unknown; dispose(): void }>();
  /**
   * With a request limit: requests (and notifications behind them, so `initialized` never overtakes
   * its `initialize`) waiting in arrival order, and how many requests run.
   */
  readonly #waiting: (RequestMessage | NotificationMessage)[] = [];
  #waitingHead = 0;
  #running = 0;

  /** Notifications to this connection. */
  readonly notifications: NotificationSink = {
    notify: (method, params, onWritten, onDelivered) => {
      if (this.#state === "closed") return false;
      this.transport.send(encodeNotification(method, params), onWritten, onDelivered);
      return true;
    },
    notifyEncoded: (message, onWritten, onDelivered) => {
      if (this.#state === "closed") return false;
      this.transport.send(message, onWritten, onDelivered);
      return true;
    },
    whenWritable: () => this.transport.whenWritable(),
  };

  constructor(transport: MessageTransport, host: ConnectionHost, peer?: string) {
    this.transport = transport;
    this.#host = host;
    this.peer = peer ?? transport.kind;
  }

  get state(): HandshakeState {
    return this.#state;
  }

  /** Aborts when the connection closes (or is taken over); the reason is what pending requests fail with. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Resolves with the reason once the connection has closed. */
  get closed(): Promise<string> {
    return this.#closed.promise;
  }

  start(): void {
    this.transport.start({
      onMessage: (text) => this.#inbox.push(text),
      onFramingError: (reason, prefix) =>
        this.#sendError(sniffLeadingId(prefix), RpcError.invalidRequest(this.#parseError(reason))),
      onClose: (reason) => this.#onClose(reason),
    });
  }

  /** Moves the handshake forward after a successful `initialize`. */
  markInitializing(session: Session, clientName: string, resumed: boolean): void {
    this.session = session;
    this.clientName = clientName;
    this.#state = "initializing";
    this.#host.audit.emit({
      type: "connection.open",
      connectionId: this.id,
      peer: this.peer,
      clientName,
      sessionId: session.id,
      resumed,
    });
  }

  /**
   * Fails every pending request with `error` (sent as their responses), then closes once the responses
   * are written. Used when another connection takes the session over.
   */
  evict(error: RpcError): void {
    if (this.#state === "closed") return;
    this.#abort.abort(error);
    // Pending handlers reject in the next microtasks; close after their errors are queued.
    setTimeout(() => this.transport.close("session resumed by another connection"), 0);
  }

  /** Closes the connection. */
  close(reason = "closed by server"): void {
    this.transport.close(reason);
  }

  #parseError(reason: string): string {
    const websocket = this.transport.kind === "websocket" ? "websocket " : "";
    return `failed to parse ${websocket}JSON-RPC message from ${this.transport.description}: ${reason}`;
  }

  #onMessage(text: string): void {
    const outcome = parseMessage(text);
    if (!outcome.ok) {
      this.#sendError(null, RpcError.invalidRequest(this.#parseError(outcome.reason)));
      return;
    }
    const message = outcome.message;
    if (message.kind !== "response" && this.#host.concurrentRequests !== null) {
      this.#waiting.push(message);
      this.#pump();
      return;
    }
    switch (message.kind) {
      case "request":
        this.#handleRequest(message);
        return;
      case "notification":
        this.#handleNotification(message);
        return;
      case "response":
        log.info(
          `connection ${this.id}: ignoring unexpected client response for id ${JSON.stringify(message.id)}`,
        );
        return;
    }
  }

  /** Starts waiting requests while fewer than the limit run; a notification goes once all before it started. */
  #pump(): void {
    const limit = this.#host.concurrentRequests ?? Infinity;
    while (this.#waitingHead < this.#waiting.length && this.#state !== "closed") {
      const message = this.#waiting[this.#waitingHead];
      if (message.kind === "request") {
        if (this.#running >= limit) break;
        this.#running++;
        this.#handleRequest(message).finally(() => {
          this.#running--;
          this.#pump();
        });
      } else {
        this.#handleNotification(message);
      }
      this.#waitingHead++;
    }
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  #handleNotification(message: NotificationMessage): void {
    if (message.method === Initialized.method) {
      if (this.#state === "initializing") this.#state = "ready";
      else if (this.#state === "new") {
        // As Codex 0.171 does: a client that gets the handshake wrong is not served further.
        log.warn(`connection ${this.id}: 'initialized' sent before 'initialize'; closing`);
        this.close("initialized sent before initialize");
      }
    } else {
      log.info(`connection ${this.id}: ignoring unknown notification '${message.method}'`);
    }
  }

  /**
   * The one path of a request: look the method up, decode its params, check the handshake gate, run the
   * handler, then answer with its result or with the error it threw (an unknown method is answered
   * synchronously, the rest once the handler settled).
   */
  async #handleRequest(request: RequestMessage): Promise<void> {
    const started = performance.now();
    const entry = this.#host.methods.get(request.method);
    let ok = false;
    try {
      if (entry === undefined) throw RpcError.methodNotFound(request.method);
      const result = await this.#dispatch(entry, request.params);
      if (result instanceof EncodedResult) {
        this.#sendEncodedResult(request.id, result.parts);
      } else if (result instanceof FollowUp) {
        this.#sendResult(request.id, result.result);
        result.afterResponse();
      } else {
        this.#sendResult(request.id, result);
      }
      ok = true;
    } catch (error) {
      this.#sendError(request.id, toRpcError(error));
    }
    const seconds = (performance.now() - started) / 1000;
    this.#host.metrics.recordRequest(entry === undefined ? null : request.method, ok, seconds);
  }

  async #dispatch(entry: MethodEntry, rawParams: unknown): Promise<unknown> {
    const params = decodeRequestParams(entry.descriptor, rawParams);
    this.#checkGate(entry.descriptor.gate);
    const ctx: RequestContext = {
      connection: this,
      get session(): Session {
        if (this.connection.session === null) throw RpcError.internal("no session before initialize");
        return this.connection.session;
      },
      signal: this.signal,
      notifications: this.notifications,
      perConnection: (state) => this.#stateOf(state),
    };
    return await entry.handler(params, ctx);
  }

  /** The `-32600` gate for a method family, checked after params decoded. */
  #checkGate(gate: GateFamily): void {
    if (gate === null) return;
    if (this.#state === "new") {
      throw RpcError.invalidRequest(`client must call initialize before using ${gate} methods`);
    }
    if (this.#state === "initializing") {
      throw RpcError.invalidRequest(`client must send initialized before using ${gate} methods`);
    }
  }

  #stateOf<T>(state: PerConnection<T>): T {
    let entry = this.#perConnection.get(state as PerConnection<unknown>);
    if (entry === undefined) {
      const value = state.create();
      entry = { value, dispose: () => state.dispose(value) };
      this.#perConnection.set(state as PerConnection<unknown>, entry);
    }
    return entry.value as T;
  }

  #sendResult(id: RequestId, result: unknown): void {
    if (this.#state === "closed") return;
    this.transport.send(encodeResult(id, result));
  }

  #sendEncodedResult(id: RequestId, parts: readonly MessagePart[]): void {
    if (this.#state === "closed") return;
    this.transport.send(encodeResultParts(id, parts));
  }

  #sendError(id: RequestId | null, error: RpcError): void {
    if (this.#state === "closed") return;
    this.transport.send(encodeError(id, error.toJSON()));
  }

  #onClose(reason: string): void {
    if (this.#state === "closed") return;
    if (/frame too large/i.test(reason)) {
      // Deno's WebSocket layer drops a connection whose frame or message exceeds its fixed 64 MiB cap
      // before we see the message, so no JSON-RPC error can be sent: at least say why, loudly.
      log.warn(
        `connection ${this.id} closed: a WebSocket message exceeded the 64 MiB transport limit ` +
          `(send large files in pieces, e.g. fs/writeFile with offset/append) [${reason}]`,
      );
    }
    this.#state = "closed";
    this.#waiting.length = 0;
    this.#waitingHead = 0;
    if (!this.#abort.signal.aborted) {
      this.#abort.abort(new RpcError(ErrorCode.TransportClosed, "exec-server transport closed"));
    }
    for (const state of this.#perConnection.values()) {
      try {
        state.dispose();
      } catch (error) {
        log.warn(`connection ${this.id}: disposing per-connection state failed: ${error}`);
      }
    }
    this.#host.onConnectionClosed(this);
    this.#host.audit.emit({
      type: "connection.close",
      connectionId: this.id,
      peer: this.peer,
      clientName: this.clientName,
      sessionId: this.session?.id ?? null,
      reason,
      durationMs: Math.round(performance.now() - this.#openedAt),
    });
    this.#closed.resolve(reason);
  }
}

function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  log.warn(`internal error: ${(error as Error)?.stack ?? error}`);
  return RpcError.internal(error instanceof Error ? error.message : String(error));
}
