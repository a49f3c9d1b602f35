/**
 * One JSON-RPC message per WebSocket message, over a standard `WebSocket` (Deno's server-side socket
 * from `Deno.upgradeWebSocket`, or a client socket). Text and binary frames in, text frames out.
 *
 * @module
 */
import {
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type MessageTransport,
  type TransportHandlers,
} from "./transport.ts";

/** Options for {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  description: string;
  maxMessageBytes?: number;
  highWaterBytes?: number;
}

const POLL_MS = 2;

/** A {@link MessageTransport} over an open (or opening) WebSocket. */
export class WebSocketTransport implements MessageTransport {
  readonly kind = "websocket";
  readonly description: string;
  #socket: WebSocket;
  #handlers: TransportHandlers | null = null;
  #closed = false;
  #drainWaiters: Array<() => void> = [];
  #pollTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #maxMessageBytes: number;
  readonly #highWater: number;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(socket: WebSocket, options: WebSocketTransportOptions) {
    this.#socket = socket;
    this.description = options.description;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    socket.binaryType = "arraybuffer";
  }

  get bufferedBytes(): number {
    return this.#closed ? 0 : this.#socket.bufferedAmount;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    this.#socket.onmessage = (event) => this.#onMessage(event.data);
    this.#socket.onclose = (event) =>
      this.#finish(event.reason ? `closed (${event.code}: ${event.reason})` : `closed (${event.code})`);
    this.#socket.onerror = (event) => {
      const message = (event as ErrorEvent).message;
      if (message) this.#lastError = message;
    };
    if (this.#socket.readyState === WebSocket.CLOSED) this.#finish("closed before start");
  }

  #lastError = "";

  send(message: string | readonly string[], onWritten?: () => void): void {
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    try {
      this.#socket.send(typeof message === "string" ? message : message.join(""));
    } catch {
      return;
    }
    onWritten?.();
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.#socket.bufferedAmount <= this.#highWater / 2) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#schedulePoll();
    });
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    try {
      this.#socket.close(1000, reason.slice(0, 120));
    } catch {
      // Already closing.
    }
    this.#finish(reason);
  }

  /** Deno has no drain event for WebSockets: poll `bufferedAmount` only while someone waits. */
  #schedulePoll(): void {
    if (this.#pollTimer !== null) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      if (this.#closed || this.#socket.bufferedAmount <= this.#highWater / 2) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const wake of waiters) wake();
      } else if (this.#drainWaiters.length > 0) {
        this.#schedulePoll();
      }
    }, POLL_MS);
  }

  #onMessage(data: unknown): void {
    const handlers = this.#handlers;
    if (!handlers) return;
    if (typeof data === "string") {
      // A string of N UTF-16 units is at most 3N UTF-8 bytes; measure exactly only when it matters.
      if (
        data.length * 3 > this.#maxMessageBytes &&
        new TextEncoder().encode(data).length > this.#maxMessageBytes
      ) {
        handlers.onFramingError(this.#tooLarge(data.length), data.slice(0, 512));
        return;
      }
      handlers.onMessage(data);
      return;
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(0);
    if (bytes.length > this.#maxMessageBytes) {
      handlers.onFramingError(this.#tooLarge(bytes.length), new TextDecoder().decode(bytes.subarray(0, 512)));
      return;
    }
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      handlers.onFramingError("message is not valid UTF-8", new TextDecoder().decode(bytes.subarray(0, 512)));
      return;
    }
    handlers.onMessage(text);
  }

  #tooLarge(size: number): string {
    return `message of ${size} bytes exceeds the maximum message size of ${this.#maxMessageBytes} bytes`;
  }

  #finish(reason: string): void {
    if (this.#closed && this.#handlers === null) return;
    this.#closed = true;
    const handlers = this.#handlers;
    this.#handlers = null;
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
    handlers?.onClose(this.#lastError ? `${reason}: ${this.#lastError}` : reason);
  }
}
