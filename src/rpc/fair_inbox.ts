/**
 * Budgeted delivery of inbound messages, so that one client's burst cannot monopolise the event loop.
 * A transport may hand over a thousand buffered messages in one go (as microtasks no other connection can
 * interleave with). Inboxes share one budget: once the current uninterrupted run of handling has lasted
 * {@link SLICE_MS}, further messages wait in their inbox for a macrotask, letting every other connection's
 * messages, timers and I/O in first. Order within one inbox is kept, and what was received is handled
 * even after the connection closed (as when handled at once).
 *
 * @module
 */

/** How long handling may run before inboxes yield (ms). */
export const SLICE_MS = 4;

/** When the current run of handling began; null once a macrotask boundary has passed since. */
let runStartedAt: number | null = null;

function withinBudget(): boolean {
  const now = performance.now();
  if (runStartedAt === null) {
    runStartedAt = now;
    // Fires after the current task and its microtasks: the run is over.
    setTimeout(() => (runStartedAt = null), 0);
    return true;
  }
  return now - runStartedAt < SLICE_MS;
}

/** A FIFO of messages handled within the shared time budget. */
export class FairInbox<T> {
  readonly #handle: (message: T) => void;
  #queue: T[] = [];
  #head = 0;
  #scheduled = false;

  constructor(handle: (message: T) => void) {
    this.#handle = handle;
  }

  /** Queues `message`; handled at once while the budget lasts, else in order in a later task. */
  push(message: T): void {
    this.#queue.push(message);
    if (!this.#scheduled) this.#drain(false);
  }

  /**
   * Handles queued messages while the budget lasts. A drain that waited for its turn handles at least one
   * message whatever the budget: otherwise an inbox scheduled behind a busy one would find the budget
   * spent by it at every turn, and starve.
   */
  #drain(waitedForTurn: boolean): void {
    this.#scheduled = false;
    let guaranteed = waitedForTurn;
    while (this.#head < this.#queue.length) {
      if (!withinBudget() && !guaranteed) {
        this.#scheduled = true;
        setTimeout(() => this.#drain(true), 0);
        return;
      }
      guaranteed = false;
      this.#handle(this.#queue[this.#head++]);
    }
    this.#queue = [];
    this.#head = 0;
  }
}
