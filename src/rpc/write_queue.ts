/**
 * A coalescing writer: messages queued in the same turn of the event loop go out in one write, one
 * write is in flight at a time, and producers can wait for the queue to drain below a low-water mark.
 *
 * @module
 */

/** Callbacks for a {@link WriteQueue}. */
export interface WriteQueueSink {
  /** Writes all bytes (looping on partial writes is the sink's job). */
  write(bytes: Uint8Array): Promise<void>;
  /** Called once if a write fails; the queue is dead afterwards. */
  onError(error: unknown): void;
}

const encoder = new TextEncoder();

/** Newline-terminated message queue in front of a byte sink. */
export class WriteQueue {
  #messages: string[] = [];
  #callbacks: Array<(() => void) | undefined> = [];
  #queuedBytes = 0;
  #scheduled = false;
  #writing = false;
  #dead = false;
  #drainWaiters: Array<() => void> = [];
  #idleWaiters: Array<() => void> = [];
  readonly #sink: WriteQueueSink;
  readonly #lowWater: number;

  constructor(sink: WriteQueueSink, lowWaterBytes: number) {
    this.#sink = sink;
    this.#lowWater = lowWaterBytes;
  }

  /** Bytes (approximately: UTF-16 units) queued or being written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queues `text` plus a newline. */
  push(text: string, onWritten?: () => void): void {
    if (this.#dead) return;
    this.#messages.push(text);
    this.#callbacks.push(onWritten);
    this.#queuedBytes += text.length + 1;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** Resolves when the queue is below the low-water mark, or the queue is dead. */
  whenWritable(): Promise<void> {
    if (this.#dead || this.#queuedBytes <= this.#lowWater) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Resolves once everything queued so far has been written (or the queue died). */
  whenIdle(): Promise<void> {
    if (this.#dead || (!this.#writing && !this.#scheduled && this.#messages.length === 0)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops everything queued and wakes all waiters. */
  kill(): void {
    this.#dead = true;
    this.#messages = [];
    this.#callbacks = [];
    this.#queuedBytes = 0;
    this.#wake();
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#messages.length > 0 && !this.#dead) {
        const messages = this.#messages;
        const callbacks = this.#callbacks;
        this.#messages = [];
        this.#callbacks = [];
        let size = 0;
        for (const m of messages) size += m.length + 1;
        const batch = messages.length === 1 ? messages[0] + "\n" : messages.join("\n") + "\n";
        await this.#sink.write(encoder.encode(batch));
        this.#queuedBytes -= size;
        for (const callback of callbacks) callback?.();
        if (this.#queuedBytes <= this.#lowWater) this.#wakeDrain();
      }
    } catch (error) {
      this.kill();
      this.#sink.onError(error);
    } finally {
      this.#writing = false;
      if (this.#messages.length === 0) this.#wakeIdle();
    }
  }

  #wakeDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #wake(): void {
    this.#wakeDrain();
    this.#wakeIdle();
  }
}
