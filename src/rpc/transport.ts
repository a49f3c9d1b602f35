/**
 * The contract between a byte/message transport and a JSON-RPC connection. Transports know nothing
 * about methods; connections know nothing about sockets or pipes.
 *
 * @module
 */
import type { OutgoingMessage } from "./write_queue.ts";

/** What a transport reports to its owner. */
export interface TransportHandlers {
  /** One complete incoming message (a JSON text). */
  onMessage(text: string): void;
  /** A message that could not be framed or decoded (too large, invalid UTF-8). `prefix` helps recover its id. */
  onFramingError(reason: string, prefix: string): void;
  /** The transport closed (peer went away, error, or `close()`); called exactly once. */
  onClose(reason: string): void;
}

/** What carries a transport's messages (error texts name WebSocket messages as such, as Codex does). */
export type TransportKind = "websocket" | "stdio" | "memory" | "relay";

/** A bidirectional, message-oriented transport (one JSON-RPC message per frame or line). */
export interface MessageTransport {
  /** What carries the messages: WebSocket frames, NDJSON lines over byte streams, or in-process queues. */
  readonly kind: TransportKind;
  /** Human-readable peer description used in error messages, e.g. `exec-server stdio`. */
  readonly description: string;
  /** Starts reading; messages flow to `handlers` until close. */
  start(handlers: TransportHandlers): void;
  /**
   * Queues one message: a JSON text, or a JSON text in parts (concatenated on the wire, never in memory:
   * large base64 payloads are sent this way; a bytes part stands for its base64). `onWritten` runs once it has been handed to the OS.
   * `onDelivered` runs once the peer has provably read it off the connection (see `WebSocketTransport`);
   * on a transport that cannot be resumed it runs with `onWritten`. Neither runs after close.
   */
  send(message: OutgoingMessage, onWritten?: () => void, onDelivered?: () => void): void;
  /** Bytes queued but not yet written. */
  readonly bufferedBytes: number;
  /** Resolves once the queue is below the low-water mark (immediately when it already is, or when closed). */
  whenWritable(): Promise<void>;
  /** Closes the transport; pending writes are flushed best-effort. Idempotent. */
  close(reason?: string): void;
  /** True once closed. */
  readonly isClosed: boolean;
}

/** Default queue high-water mark: above it producers wait in `whenWritable()`. */
export const DEFAULT_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Default maximum size of one incoming message: 64 MiB (as the reference's WebSocket limit). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
