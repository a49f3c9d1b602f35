/**
 * What a method handler gets besides its params: a way to push notifications to the client that owns the
 * work (with backpressure), and a signal that aborts when that work must stop.
 *
 * @module
 */
import type { OutgoingMessage } from "./write_queue.ts";

/** Outbound notifications for one connection (or the session's current connection). */
export interface NotificationSink {
  /**
   * Queues a notification. `onWritten` runs once the message has been handed to the transport,
   * `onDelivered` once the client has provably read it (see `MessageTransport.send`).
   * Returns false when nothing is attached to receive it (the notification is dropped).
   */
  notify(method: string, params: unknown, onWritten?: () => void, onDelivered?: () => void): boolean;
  /**
   * Queues a notification its producer already encoded (a JSON text, or parts of one: see
   * `MessageTransport.send`), for hot paths such as `process/output`. Same contract as {@link notify}.
   */
  notifyEncoded(
    message: OutgoingMessage,
    onWritten?: () => void,
    onDelivered?: () => void,
  ): boolean;
  /** Resolves when the outbound queue has room again; already resolved when it has room now. */
  whenWritable(): Promise<void>;
}

/** Per-request context handed to handlers. */
export interface HandlerContext {
  /** Notifications to the connection that sent the request. */
  readonly notifications: NotificationSink;
  /** Aborts when that connection closes (work tied to it, such as an HTTP body stream, must stop). */
  readonly signal: AbortSignal;
}
