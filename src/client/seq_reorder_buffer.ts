/**
 * Orders a process's events by `seq`: publishes only contiguous seqs (`last + 1`), holds early ones,
 * drops duplicates and stale ones. Codex servers may deliver `exited` before the last `output`, or
 * notifications before the `process/start` response; a client that trusted arrival order would misreport.
 *
 * @module
 */

/** Anything with a per-process sequence number. */
export interface Sequenced {
  readonly seq: number;
}

/** Default bound on events held while waiting for a missing seq. */
export const DEFAULT_MAX_PENDING_EVENTS = 4096;

/** A reorder buffer for one process's sequenced events. */
export class SeqReorderBuffer<E extends Sequenced> {
  #last = 0;
  readonly #pending = new Map<number, E>();
  readonly #maxPending: number;
  #overflowed = false;

  constructor(maxPending = DEFAULT_MAX_PENDING_EVENTS) {
    this.#maxPending = maxPending;
  }

  /** The highest seq published so far (0 before any). */
  get lastSeq(): number {
    return this.#last;
  }

  /** True while some held event waits for a missing earlier seq. */
  get hasGap(): boolean {
    return this.#pending.size > 0;
  }

  /**
   * True once more than `maxPending` events were held: they were discarded and the owner must catch up
   * from {@link lastSeq} (e.g. with `process/read`). Cleared by {@link advance}.
   */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Accepts one event; returns the events that became publishable, in seq order. */
  push(event: E): E[] {
    if (event.seq <= this.#last || this.#pending.has(event.seq)) return [];
    if (this.#overflowed) return [];
    this.#pending.set(event.seq, event);
    if (this.#pending.size > this.#maxPending) {
      this.#pending.clear();
      this.#overflowed = true;
      return [];
    }
    return this.#drain();
  }

  /**
   * Publishes events recovered out of band (a `process/read` catch-up), which may skip seqs that are
   * gone for good (evicted output). Returns everything now publishable: the recovered events above
   * {@link lastSeq}, then any held events that became contiguous.
   */
  advance(recovered: E[]): E[] {
    this.#overflowed = false;
    const published: E[] = [];
    for (const event of [...recovered].sort((a, b) => a.seq - b.seq)) {
      if (event.seq <= this.#last) continue;
      this.#last = event.seq;
      published.push(event);
    }
    for (const seq of this.#pending.keys()) if (seq <= this.#last) this.#pending.delete(seq);
    return published.concat(this.#drain());
  }

  #drain(): E[] {
    const out: E[] = [];
    for (let next = this.#pending.get(this.#last + 1); next; next = this.#pending.get(this.#last + 1)) {
      this.#pending.delete(next.seq);
      this.#last = next.seq;
      out.push(next);
    }
    return out;
  }
}
