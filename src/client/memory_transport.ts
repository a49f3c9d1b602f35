/**
 * An in-memory {@link MessageTransport} pair over two `TransformStream`s: what one side sends, the other
 * receives. Lets the `local` environment run an in-process `ExecServer` through the same client code
 * path as a remote one, and lets tests wire a client to a server (or to a scripted fake) without sockets.
 *
 * @module
 */
import { DEFAULT_HIGH_WATER_BYTES, type MessageTransport, type TransportHandlers } from "../rpc/transport.ts";
import { messageText, type OutgoingMessage } from "../rpc/write_queue.ts";

/** One end of an in-memory pair. */
class MemoryTransport implements MessageTransport {
  readonly kind = "memory";
  readonly description: string;
  readonly #readable: ReadableStream<string>;
  readonly #writer: WritableStreamDefaultWriter<string>;
  #reader: ReadableStreamDefaultReader<string> | null = null;
  #handlers: TransportHandlers | null = null;
  #closed = false;
  #queuedBytes = 0;
  #drainWaiters: Array<() => void> = [];

  constructor(description: string, readable: ReadableStream<string>, writable: WritableStream<string>) {
    this.description = description;
    this.#readable = readable;
    this.#writer = writable.getWriter();
  }

  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    this.#readLoop();
  }

  send(message: OutgoingMessage, onWritten?: () => void, onDelivered?: () => void): void {
    if (this.#closed) return;
    const text = messageText(message);
    this.#queuedBytes += text.length;
    this.#writer.write(text).then(() => {
      this.#queuedBytes -= text.length;
      onWritten?.();
      onDelivered?.(); // in process: written is read
      this.#wakeIfDrained();
    }, () => {});
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.#queuedBytes <= DEFAULT_HIGH_WATER_BYTES / 2) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    // Like a socket: the peer sees end of input once what was queued has been delivered.
    this.#writer.close().catch(() => {});
    this.#reader?.cancel(reason).catch(() => {});
    this.#finish(reason);
  }

  async #readLoop(): Promise<void> {
    const reader = this.#readable.getReader();
    this.#reader = reader;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.#closed) break;
        this.#handlers?.onMessage(value);
      }
    } catch {
      // Errored by close.
    }
    this.#finish("end of input");
  }

  #wakeIfDrained(): void {
    if (this.#queuedBytes > DEFAULT_HIGH_WATER_BYTES / 2 && !this.#closed) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  #finish(reason: string): void {
    if (this.#closed && this.#handlers === null) return;
    this.#closed = true;
    this.#wakeIfDrained();
    const handlers = this.#handlers;
    this.#handlers = null;
    handlers?.onClose(reason);
  }
}

/** Creates two connected in-memory transports (`[clientSide, serverSide]`). */
export function createMemoryTransportPair(
  description = "in-memory exec-server",
): [MessageTransport, MessageTransport] {
  const toServer = new TransformStream<string, string>();
  const toClient = new TransformStream<string, string>();
  const client = new MemoryTransport(description, toClient.readable, toServer.writable);
  const server = new MemoryTransport(`${description} (server side)`, toServer.readable, toClient.writable);
  return [client, server];
}
