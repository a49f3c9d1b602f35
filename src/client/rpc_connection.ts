/**
 * The client half of one JSON-RPC connection: numbered requests (from 1), responses matched by id,
 * notifications handed to the owner, and one disconnect that settles every pending call exactly once.
 *
 * @module
 */
import { encodeNotification, encodeRequest, parseMessage } from "../protocol/envelope.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import { ExecServerClientError } from "./client_error.ts";

/** What the connection reports to its owner. */
export interface RpcConnectionHandlers {
  /** A server notification (any method; the owner validates). */
  onNotification(method: string, params: unknown): void;
  /** The connection ended; `error` is what pending calls were failed with. Called once. */
  onDisconnect(error: ExecServerClientError): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: ExecServerClientError): void;
}

/** Above this many queued bytes a new request waits for the transport to drain (large fs writes). */
const SEND_HIGH_WATER_BYTES = 8 * 1024 * 1024;

/** One client connection over a {@link MessageTransport}. */
export class RpcConnection {
  readonly #transport: MessageTransport;
  readonly #handlers: RpcConnectionHandlers;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: ExecServerClientError | null = null;

  constructor(transport: MessageTransport, handlers: RpcConnectionHandlers) {
    this.#transport = transport;
    this.#handlers = handlers;
    transport.start({
      onMessage: (text) => this.#onMessage(text),
      onFramingError: (reason) => this.#disconnect(ExecServerClientError.disconnected(reason)),
      onClose: (reason) => this.#disconnect(disconnectedBecause(reason)),
    });
  }

  /** Set once the connection has ended: the error every call now fails with. */
  get failure(): ExecServerClientError | null {
    return this.#failure;
  }

  /** Sends a request and resolves with its raw result; rejects with {@link ExecServerClientError}. */
  async request(method: string, params: unknown): Promise<unknown> {
    if (this.#failure) throw this.#failure;
    if (this.#transport.bufferedBytes > SEND_HIGH_WATER_BYTES) {
      await this.#transport.whenWritable();
      if (this.#failure) throw this.#failure;
    }
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(id, { resolve, reject });
    this.#transport.send(encodeRequest(id, method, params));
    return await promise;
  }

  /** Sends a notification (dropped silently once disconnected, like any write to a dead peer). */
  notify(method: string, params: unknown): void {
    if (!this.#failure) this.#transport.send(encodeNotification(method, params));
  }

  /** Closes the transport; pending calls fail with `error` (default: `exec-server transport closed`). */
  close(error: ExecServerClientError = ExecServerClientError.closed()): void {
    this.#disconnect(error);
    this.#transport.close(error.message);
  }

  #onMessage(text: string): void {
    if (this.#failure) return;
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      this.close(ExecServerClientError.disconnected(`malformed message from exec-server: ${parsed.reason}`));
      return;
    }
    const message = parsed.message;
    if (message.kind === "notification") {
      this.#handlers.onNotification(message.method, message.params);
      return;
    }
    if (message.kind === "request") {
      // Codex 0.140.0 servers never send requests; one is a protocol violation that ends the reader.
      this.close(
        ExecServerClientError.protocol(`unexpected JSON-RPC request from remote server: ${message.method}`),
      );
      return;
    }
    if (typeof message.id !== "number") return; // not one of ours: ignored, as Codex does
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.error) pending.reject(ExecServerClientError.fromRpcError(message.error));
    else pending.resolve(message.result);
  }

  #disconnect(error: ExecServerClientError): void {
    if (this.#failure) return;
    this.#failure = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(error);
    this.#handlers.onDisconnect(error);
  }
}

/** Codex shows pending callers the bare message; the transport's reason travels as the cause for logs. */
function disconnectedBecause(reason: string): ExecServerClientError {
  const error = ExecServerClientError.disconnected();
  (error as { cause?: unknown }).cause = new Error(reason);
  return error;
}
