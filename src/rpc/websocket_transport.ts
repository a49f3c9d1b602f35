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
import { messageText, type OutgoingMessage } from "./write_queue.ts";

/** Options for {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  description: string;
  maxMessageBytes?: number;
  highWaterBytes?: number;
  /**
   * Bytes that may sit between our queue and the peer's reads (our kernel's send buffer, the peer's
   * receive buffer, anything in between): a message counts as delivered once this much more has left
   * our queue after it. Default {@link kernelSocketWindowBytes}; 0 counts written as delivered.
   */
  deliveryWindowBytes?: number;
}

const POLL_MS = 2;
/** How often pending deliveries are re-checked while our queue drains. */
const DELIVERY_POLL_MS = 10;
const FALLBACK_KERNEL_WINDOW = 16 * 1024 * 1024;

let kernelWindow: number | null = null;

/**
 * The most one TCP hop can hold: the largest send buffer plus the largest receive buffer the kernel
 * autotunes to (`tcp_wmem` + `tcp_rmem` maxima), read once; 16 MiB where they cannot be read.
 */
export function kernelSocketWindowBytes(): number {
  if (kernelWindow !== null) return kernelWindow;
  const max = (file: string) => {
    const fields = Deno.readTextFileSync(file).trim().split(/\s+/).map(Number);
    const value = fields[2];
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`unexpected ${file}`);
    return value;
  };
  try {
    kernelWindow = max("/proc/sys/net/ipv4/tcp_wmem") + max("/proc/sys/net/ipv4/tcp_rmem");
  } catch {
    kernelWindow = FALLBACK_KERNEL_WINDOW;
  }
  return kernelWindow;
}

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
  readonly #deliveryWindow: number;
  /** Characters handed to the socket so far (base64 output is ASCII: characters are bytes). */
  #sentChars = 0;
  /** Messages not yet known to be read by the peer: where each ends in the stream, and whom to tell. */
  #undelivered: Array<{ end: number; onDelivered: () => void }> = [];
  #undeliveredHead = 0;
  #deliveryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(socket: WebSocket, options: WebSocketTransportOptions) {
    this.#socket = socket;
    this.description = options.description;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    this.#deliveryWindow = options.deliveryWindowBytes ?? kernelSocketWindowBytes();
    socket.binaryType = "arraybuffer";
    if (socket.readyState === WebSocket.CLOSED) this.#socketClosed.resolve();
  }

  readonly #socketClosed = Promise.withResolvers<void>();

  /**
   * Closes (as {@link close}) and resolves once the peer answered the closing handshake, or after
   * `timeoutMs`: a process about to exit waits for it, so the peer sees a clean close, not a reset.
   */
  async closeAndWait(reason = "closed", timeoutMs = 1_000): Promise<void> {
    this.close(reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#socketClosed.promise,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
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
    this.#socket.onclose = (event) => {
      this.#socketClosed.resolve();
      this.#finish(event.reason ? `closed (${event.code}: ${event.reason})` : `closed (${event.code})`);
    };
    this.#socket.onerror = (event) => {
      const message = (event as ErrorEvent).message;
      if (message) this.#lastError = message;
    };
    if (this.#socket.readyState === WebSocket.CLOSED) this.#finish("closed before start");
  }

  #lastError = "";

  send(message: OutgoingMessage, onWritten?: () => void, onDelivered?: () => void): void {
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    const text = messageText(message);
    try {
      this.#socket.send(text);
    } catch {
      return;
    }
    this.#sentChars += text.length;
    onWritten?.();
    if (onDelivered) {
      this.#undelivered.push({ end: this.#sentChars, onDelivered });
      this.#checkDeliveries();
    }
  }

  /**
   * "Written to the socket" is not "read by the peer": a connection that drops loses what its kernel
   * buffers held. But once a window's worth of later bytes has left our queue, an earlier message cannot
   * still be in those buffers: the peer has read it. Deliveries are confirmed that way, in order; what is
   * pending when the connection closes is never confirmed (its sender keeps it for the resume).
   */
  #checkDeliveries(): void {
    const drained = this.#sentChars - this.#socket.bufferedAmount;
    const pending = this.#undelivered;
    while (this.#undeliveredHead < pending.length) {
      const next = pending[this.#undeliveredHead];
      if (next.end + this.#deliveryWindow > drained) break;
      this.#undeliveredHead++;
      next.onDelivered();
    }
    if (this.#undeliveredHead > 1024 && this.#undeliveredHead * 2 > pending.length) {
      this.#undelivered = pending.slice(this.#undeliveredHead);
      this.#undeliveredHead = 0;
    }
    // Our queue still draining may confirm more without another send; an empty queue cannot.
    if (
      this.#deliveryTimer === null && this.#undeliveredHead < this.#undelivered.length &&
      this.#socket.bufferedAmount > 0 && !this.#closed
    ) {
      this.#deliveryTimer = setTimeout(() => {
        this.#deliveryTimer = null;
        if (!this.#closed) this.#checkDeliveries();
      }, DELIVERY_POLL_MS);
    }
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
    if (this.#deliveryTimer !== null) clearTimeout(this.#deliveryTimer);
    this.#deliveryTimer = null;
    this.#undelivered = []; // never confirmed: what they carried may be lost with the connection
    this.#undeliveredHead = 0;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
    handlers?.onClose(this.#lastError ? `${reason}: ${this.#lastError}` : reason);
  }
}
