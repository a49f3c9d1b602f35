/**
 * Spreads work that would otherwise land in one microtask flood over several macrotasks: callbacks run in
 * order, at most `perTask` of them per task, so that other clients' messages, timers and I/O get in
 * between (a thousand exits or a thousand waiters on one `/proc` scan must not freeze the server).
 *
 * @module
 */

/** A FIFO of callbacks run at most `perTask` per macrotask. */
export class TaskSpreader {
  readonly #perTask: number;
  #queue: Array<() => void> = [];
  #head = 0;
  #scheduled = false;

  constructor(perTask: number) {
    this.#perTask = perTask;
  }

  /** Runs `callback` now if this task's share is not used up, else in a later task. */
  run(callback: () => void): void {
    this.#queue.push(callback);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#flush();
    }
  }

  /** Resolves in turn: at most `perTask` waiters resume per task. */
  turn(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.run(resolve);
    return promise;
  }

  #flush(): void {
    const end = Math.min(this.#queue.length, this.#head + this.#perTask);
    // Callbacks run after this task's share is claimed, so one that queues more cannot run them inline.
    const batch = this.#queue.slice(this.#head, end);
    this.#head = end;
    for (const callback of batch) callback();
    if (this.#head < this.#queue.length) {
      setTimeout(() => this.#flush(), 0);
    } else {
      this.#queue = [];
      this.#head = 0;
      // Whatever arrives within this same task still waits for the next one.
      setTimeout(() => {
        if (this.#head < this.#queue.length) this.#flush();
        else this.#scheduled = false;
      }, 0);
    }
  }
}
