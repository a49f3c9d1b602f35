/**
 * NDJSON over a pair of byte streams: the server's own stdin/stdout, or a spawned exec-server's pipes
 * on the client side.
 *
 * @module
 */
import { LineFramer } from "./line_framer.ts";
import {
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type MessageTransport,
  type TransportHandlers,
} from "./transport.ts";
import { type OutgoingMessage, WriteQueue } from "./write_queue.ts";

/**
 * A byte sink written without web-stream machinery (e.g. `Deno.stdout`): `write` may take fewer bytes
 * than given and returns how many it took.
 */
export interface RawWriter {
  write(bytes: Uint8Array): Promise<number>;
  close?(): void;
}

/** Options for {@link StreamTransport}. */
export interface StreamTransportOptions {
  /** Used in parse error messages. */
  description: string;
  maxMessageBytes?: number;
  highWaterBytes?: number;
}

/** A {@link MessageTransport} over a readable and a writable byte stream. */
export class StreamTransport implements MessageTransport {
  readonly kind = "stdio";
  readonly description: string;
  #readable: ReadableStream<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null;
  #rawWriter: RawWriter | null;
  #queue: WriteQueue;
  #handlers: TransportHandlers | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #closed = false;
  #closeReason = "";
  readonly #maxMessageBytes: number;
  readonly #highWater: number;

  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array> | RawWriter,
    options: StreamTransportOptions,
  ) {
    this.description = options.description;
    this.#readable = readable;
    this.#writer = writable instanceof WritableStream ? writable.getWriter() : null;
    this.#rawWriter = writable instanceof WritableStream ? null : writable;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    this.#queue = new WriteQueue({
      write: (bytes) => this.#writer ? this.#writer.write(bytes) : this.#writeRaw(bytes),
      onError: (error) => this.#finish(`write failed: ${(error as Error).message ?? error}`),
    }, this.#highWater / 2);
  }

  get bufferedBytes(): number {
    return this.#queue.queuedBytes;
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
    // A pipe is not resumed after it breaks: written is as good as delivered.
    const done = onDelivered
      ? () => {
        onWritten?.();
        onDelivered();
      }
      : onWritten;
    this.#queue.push(message, done);
  }

  async #writeRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#rawWriter!.write(bytes.subarray(offset));
  }

  whenWritable(): Promise<void> {
    return this.#queue.whenWritable();
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closeReason = reason;
    this.#reader?.cancel().catch(() => {});
    this.#finish(reason);
  }

  async #readLoop(): Promise<void> {
    const framer = new LineFramer(this.#maxMessageBytes, {
      onLine: (line) => this.#handlers?.onMessage(line),
      onFramingError: (reason, prefix) => this.#handlers?.onFramingError(reason, prefix),
    });
    const reader = this.#readable.getReader();
    this.#reader = reader;
    let reason = "end of input";
    try {
      while (!this.#closed) {
        // A client that does not read what we send stops being read from (TCP-style backpressure).
        if (this.#queue.queuedBytes > this.#highWater) await this.#queue.whenWritable();
        const { value, done } = await reader.read();
        if (done) break;
        framer.push(value);
      }
      framer.end();
    } catch (error) {
      reason = `read failed: ${(error as Error).message ?? error}`;
    } finally {
      reader.releaseLock();
    }
    this.#finish(this.#closeReason || reason);
  }

  #finish(reason: string): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    if (wasClosed && this.#handlers === null) return;
    const handlers = this.#handlers;
    this.#handlers = null;
    // Flush what is queued (responses to the last requests), then release the writer.
    this.#queue.whenIdle().then(() => {
      this.#queue.kill();
      if (this.#writer) this.#writer.close().catch(() => {});
      else {
        try {
          this.#rawWriter!.close?.();
        } catch {
          // Already closed.
        }
      }
    });
    handlers?.onClose(reason);
  }
}
