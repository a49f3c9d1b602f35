/**
 * Retained output of one process: a FIFO of base64 chunks bounded in what they cost to keep: decoded
 * bytes plus {@link CHUNK_OVERHEAD_BYTES} per chunk, so a child writing one byte at a time cannot make
 * the bound hold a hundred times its nominal size in bookkeeping.
 *
 * Nothing a client has not received is evicted: a chunk becomes evictable only once it is acknowledged
 * (by a `process/read` cursor, or, when the ack mode allows, by a `process/output` notification the
 * client has provably read: see `WebSocketTransport`'s delivery window). A notification sent but not yet
 * delivered is "in flight": it stays retained (a resume replays it), but it does not count against the
 * bound, or a producer could stall waiting for the very output that would confirm it.
 * When the bound is full of unacknowledged output, {@link OutputLog.whenRoom} stays pending and the
 * readers stop reading the child's pipes, so the child blocks instead of output being lost.
 *
 * @module
 */
import type { OutputStream } from "../protocol/process.ts";

/**
 * What one retained chunk costs beyond its payload (its record, the base64 string's header, the eviction
 * record): measured at ~90 B of heap and ~200 B of RSS per 1-byte chunk; rounded up.
 */
export const CHUNK_OVERHEAD_BYTES = 256;

/** One retained chunk. `chunk` is base64 (encoded once, shared by notification and reads). */
export interface RetainedChunk {
  readonly seq: number;
  readonly stream: OutputStream;
  readonly chunk: string;
  /** Decoded byte count. */
  readonly size: number;
}

/**
 * Which acknowledgements free room (see `AckMode` in the protocol module). `undecided` is `auto` before
 * the client has shown how it reads: nothing is evictable yet.
 */
export type EffectiveAckMode = "notification" | "read" | "undecided";

/** A page of retained output, as `process/read` returns it. */
export interface OutputPage {
  chunks: RetainedChunk[];
  /** Bytes evicted with seq > afterSeq that the page cannot return. */
  droppedBytes: number;
  /** Retained chunks follow the page's last one (it was cut at `maxBytes`). */
  more: boolean;
}

/** Bounded, acknowledgement-aware output retention for one process. */
export class OutputLog {
  #chunks: RetainedChunk[] = [];
  #head = 0;
  #retainedBytes = 0;
  #readCursor = 0;
  #notifiedSeq = 0;
  /** Notifications sent and not yet delivered, in seq order: (seq, size). */
  #inFlightSeqs: number[] = [];
  #inFlightSizes: number[] = [];
  #inFlightHead = 0;
  #inFlightBytes = 0;
  #ackMode: EffectiveAckMode;
  #roomWaiters: Array<() => void> = [];
  // Evicted chunks' (seq, size), for exact `droppedBytes`; bounded and only touched on eviction.
  #evictedSeqs: number[] = [];
  #evictedSizes: number[] = [];
  readonly #boundBytes: number;

  constructor(boundBytes: number, ackMode: EffectiveAckMode) {
    this.#boundBytes = boundBytes;
    this.#ackMode = ackMode;
  }

  /** What the retained chunks cost: decoded bytes plus {@link CHUNK_OVERHEAD_BYTES} each. */
  get retainedBytes(): number {
    return this.#retainedBytes;
  }

  get ackMode(): EffectiveAckMode {
    return this.#ackMode;
  }

  /** Changes which acknowledgements free room (`auto` deciding, or shutdown), evicting what now may go. */
  set ackMode(mode: EffectiveAckMode) {
    this.#ackMode = mode;
    this.#evict();
  }

  /** Appends a chunk (the caller assigns seqs in increasing order). */
  append(chunk: RetainedChunk): void {
    this.#chunks.push(chunk);
    this.#retainedBytes += chunk.size + CHUNK_OVERHEAD_BYTES;
    this.#evict();
  }

  /** A `process/read` cursor or a `process/ack`: the client has everything up to `afterSeq`. */
  acknowledgeRead(afterSeq: number): void {
    if (afterSeq <= this.#readCursor) return;
    this.#readCursor = afterSeq;
    this.#evict();
  }

  /** The `process/output` notification of chunk `seq` (of `size` bytes) went out (sent in seq order). */
  noteSent(seq: number, size: number): void {
    this.#inFlightSeqs.push(seq);
    this.#inFlightSizes.push(size + CHUNK_OVERHEAD_BYTES);
    this.#inFlightBytes += size + CHUNK_OVERHEAD_BYTES;
  }

  /** The client has read the `process/output` notifications up to `seq` (delivered in seq order). */
  acknowledgeNotification(seq: number): void {
    this.#settleInFlight(seq);
    if (seq <= this.#notifiedSeq) return;
    this.#notifiedSeq = seq;
    if (this.#ackMode === "notification") this.#evict();
  }

  /**
   * The connection that carried the in-flight notifications is gone: they will never be confirmed. They
   * count against the bound again (a resumed client reads them with `process/read`).
   */
  forgetInFlight(): void {
    this.#inFlightSeqs = [];
    this.#inFlightSizes = [];
    this.#inFlightHead = 0;
    this.#inFlightBytes = 0;
  }

  #settleInFlight(seq: number): void {
    while (this.#inFlightHead < this.#inFlightSeqs.length && this.#inFlightSeqs[this.#inFlightHead] <= seq) {
      this.#inFlightBytes -= this.#inFlightSizes[this.#inFlightHead];
      this.#inFlightHead++;
    }
    if (this.#inFlightHead > 1024 && this.#inFlightHead * 2 > this.#inFlightSeqs.length) {
      this.#inFlightSeqs = this.#inFlightSeqs.slice(this.#inFlightHead);
      this.#inFlightSizes = this.#inFlightSizes.slice(this.#inFlightHead);
      this.#inFlightHead = 0;
    }
  }

  /**
   * True while the log can take more output without dropping unacknowledged data. In `notification`
   * mode in-flight output is left out: the connection's own backpressure bounds it.
   */
  get hasRoom(): boolean {
    const counted = this.#ackMode === "notification"
      ? this.#retainedBytes - this.#inFlightBytes
      : this.#retainedBytes;
    return counted < this.#boundBytes;
  }

  /** Resolves once there is room (immediately if there is). */
  whenRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Releases every waiter regardless of room (the process is going away). */
  releaseWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Retained chunks with seq > afterSeq, by the reference's `maxBytes` rule (first chunk always). */
  page(afterSeq: number, maxBytes: number): OutputPage {
    const chunks: RetainedChunk[] = [];
    let total = 0;
    let index = this.#firstIndexAfter(afterSeq);
    for (; index < this.#chunks.length; index++) {
      const chunk = this.#chunks[index];
      if (chunks.length > 0 && total + chunk.size > maxBytes) break;
      chunks.push(chunk);
      total += chunk.size;
      if (total >= maxBytes) break;
    }
    const last = chunks.at(-1);
    return {
      chunks,
      droppedBytes: this.#droppedAfter(afterSeq),
      more: last !== undefined && this.hasChunksAfter(last.seq),
    };
  }

  /** True when a chunk with seq > afterSeq is retained. */
  hasChunksAfter(afterSeq: number): boolean {
    const last = this.#chunks.at(-1);
    return this.#chunks.length > this.#head && last !== undefined && last.seq > afterSeq;
  }

  #firstIndexAfter(afterSeq: number): number {
    let lo = this.#head;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#chunks[mid].seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #ackedSeq(): number {
    return this.#ackMode === "notification"
      ? Math.max(this.#readCursor, this.#notifiedSeq)
      : this.#readCursor;
  }

  #evict(): void {
    if (this.#retainedBytes >= this.#boundBytes) {
      const acked = this.#ackedSeq();
      while (this.#retainedBytes >= this.#boundBytes && this.#head < this.#chunks.length) {
        const oldest = this.#chunks[this.#head];
        if (oldest.seq > acked) break;
        this.#chunks[this.#head] = undefined as unknown as RetainedChunk;
        this.#head++;
        this.#retainedBytes -= oldest.size + CHUNK_OVERHEAD_BYTES;
        this.#recordEviction(oldest);
      }
      // Compact the array now and then so the dead prefix does not grow forever.
      if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
    }
    if (this.hasRoom && this.#roomWaiters.length > 0) this.releaseWaiters();
  }

  #recordEviction(chunk: RetainedChunk): void {
    this.#evictedSeqs.push(chunk.seq);
    this.#evictedSizes.push(chunk.size);
    if (this.#evictedSeqs.length > 200_000) {
      // Forget the oldest half: reads that far back report what is still known.
      this.#evictedSeqs = this.#evictedSeqs.slice(100_000);
      this.#evictedSizes = this.#evictedSizes.slice(100_000);
    }
  }

  #droppedAfter(afterSeq: number): number {
    let dropped = 0;
    for (let i = this.#evictedSeqs.length - 1; i >= 0 && this.#evictedSeqs[i] > afterSeq; i--) {
      dropped += this.#evictedSizes[i];
    }
    return dropped;
  }
}
