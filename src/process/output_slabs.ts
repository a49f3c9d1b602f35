/**
 * Where retained output bytes live: slabs of raw bytes, off the V8 heap and reused. Keeping output as
 * per-chunk base64 strings instead made every retained chunk a heap object that outlived two scavenges,
 * was promoted, and became old-generation garbage once evicted: ~100 MiB of heap growth over a 200 MB
 * stream with the default 8 MiB bound. Slabs are recycled through a small pool, so a steady stream
 * cycles the same few slabs and allocates nothing.
 *
 * @module
 */

/** A process's first slab: small, so hundreds of quiet processes cost little. */
export const SMALL_SLAB_BYTES = 16 * 1024;
/** Every later slab: a 64 KiB pipe read fits four times. */
export const LARGE_SLAB_BYTES = 256 * 1024;
/** Free slabs kept for reuse (per size), beyond which released slabs go to the garbage collector. */
const POOLED_SLABS = { [SMALL_SLAB_BYTES]: 64, [LARGE_SLAB_BYTES]: 16 } as const;

/** A pool of free slabs of the two sizes, shared by every process of this server. */
export class SlabPool {
  #small: Uint8Array<ArrayBuffer>[] = [];
  #large: Uint8Array<ArrayBuffer>[] = [];

  /** A slab of exactly `bytes` (a pooled one when `bytes` is one of the two slab sizes). */
  take(bytes: number): Uint8Array<ArrayBuffer> {
    const free = this.#freeList(bytes);
    return free?.pop() ?? new Uint8Array(bytes);
  }

  /** Gives a slab back; its bytes may be overwritten from now on. */
  give(slab: Uint8Array<ArrayBuffer>): void {
    const free = this.#freeList(slab.length);
    if (free && free.length < POOLED_SLABS[slab.length as keyof typeof POOLED_SLABS]) free.push(slab);
  }

  /** Free slabs held now (tests). */
  get pooled(): number {
    return this.#small.length + this.#large.length;
  }

  #freeList(bytes: number): Uint8Array<ArrayBuffer>[] | null {
    if (bytes === SMALL_SLAB_BYTES) return this.#small;
    if (bytes === LARGE_SLAB_BYTES) return this.#large;
    return null;
  }
}

/** The pool every {@link OutputBytes} uses unless given another. */
export const sharedSlabPool = new SlabPool();

/**
 * Bytes appended in order and released from the front, packed into slabs. A chunk is stored whole in
 * one slab (a chunk larger than a slab gets one of its own size), so it can be read back as one view.
 */
export class OutputBytes {
  readonly #pool: SlabPool;
  /** Slabs in use, oldest first, and how many chunks of each are still held. */
  #slabs: Uint8Array<ArrayBuffer>[] = [];
  #held: number[] = [];
  #first = 0;
  /** Fill level of the newest slab. */
  #used = 0;

  constructor(pool: SlabPool = sharedSlabPool) {
    this.#pool = pool;
  }

  /** Where the last {@link store} put its bytes in the slab it returned. */
  lastOffset = 0;

  /**
   * Copies `bytes` in; returns the slab that holds them (at {@link lastOffset}) until
   * {@link releaseOldest} releases them. (A slab and an offset, not a view: a view is one more heap
   * object per chunk.)
   */
  store(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
    let slab = this.#slabs.length > this.#first ? this.#slabs[this.#slabs.length - 1] : null;
    if (slab === null || slab.length - this.#used < bytes.length) {
      const size = slab === null && this.#first === 0 && bytes.length <= SMALL_SLAB_BYTES
        ? SMALL_SLAB_BYTES
        : Math.max(LARGE_SLAB_BYTES, bytes.length);
      slab = this.#pool.take(size);
      this.#slabs.push(slab);
      this.#held.push(0);
      this.#used = 0;
    }
    slab.set(bytes, this.#used);
    this.lastOffset = this.#used;
    this.#used += bytes.length;
    this.#held[this.#held.length - 1]++;
    return slab;
  }

  /** The oldest stored chunk is no longer needed: its slab goes back to the pool once it holds none. */
  releaseOldest(): void {
    if (this.#first >= this.#slabs.length) return;
    if (--this.#held[this.#first] > 0) return;
    const newest = this.#first === this.#slabs.length - 1;
    if (newest) {
      // Nothing is held at all: keep filling the same slab from its start.
      this.#used = 0;
      return;
    }
    this.#pool.give(this.#slabs[this.#first]);
    this.#slabs[this.#first] = undefined as unknown as Uint8Array<ArrayBuffer>;
    this.#first++;
    if (this.#first > 64 && this.#first * 2 > this.#slabs.length) {
      this.#slabs = this.#slabs.slice(this.#first);
      this.#held = this.#held.slice(this.#first);
      this.#first = 0;
    }
  }

  /** Gives every slab back (the process is gone); views handed out must not be read afterwards. */
  releaseAll(): void {
    for (let i = this.#first; i < this.#slabs.length; i++) this.#pool.give(this.#slabs[i]);
    this.#slabs = [];
    this.#held = [];
    this.#first = 0;
    this.#used = 0;
  }

  /** Bytes of slab memory held (tests). */
  get slabBytes(): number {
    let total = 0;
    for (let i = this.#first; i < this.#slabs.length; i++) total += this.#slabs[i].length;
    return total;
  }
}
