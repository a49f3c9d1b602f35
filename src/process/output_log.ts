/**
 * Retained output of one process: a FIFO of chunks bounded in what they cost to keep: bytes plus
 * {@link CHUNK_OVERHEAD_BYTES} per chunk, so a child writing one byte at a time cannot make the bound hold
 * many times its nominal size in bookkeeping. The bytes live in pooled slabs (`OutputBytes`) and the
 * bookkeeping in flat arrays, not in per-chunk objects or strings: what the log holds is never garbage the
 * V8 heap has to carry, and base64 is made only when a page is read.
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
import { OutputBytes, type SlabPool } from "./output_slabs.ts";

/**
 * What one retained chunk costs beyond its payload: its entries in the log's arrays (seq, stream, slab,
 * offset, size) and its in-flight and eviction records; measured at ~64 B of heap per 1-byte
 * chunk with its in-flight record (plus ~3 B of slab), rounded up to leave room for the eviction record.
 */
export const CHUNK_OVERHEAD_BYTES = 128;

/**
 * Acknowledged output kept for late readers (a second `process/read`, the admin console's tail): as much
 * as Codex retains in all. Beyond it, output the client has already received is not worth its memory.
 * Counted in payload bytes (Codex's 1 MiB is of output): a child that trickles one byte per chunk keeps its last MiB
 * too (the bound, which counts {@link CHUNK_OVERHEAD_BYTES}, still caps what that costs).
 */
export const ACKNOWLEDGED_TAIL_BYTES = 1024 * 1024;

/** How long after a follower's last look {@link OutputLog.noteFollower} keeps the full bound. */
const FOLLOWER_GRACE_MS = 10_000;

/** The bound while `auto` has not decided how the client acknowledges (see {@link OutputLog.hasRoom}). */
export const UNDECIDED_BOUND_BYTES = 1024 * 1024;

/** One retained chunk as a page returns it: `chunk` is its base64, made when the page is read. */
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

const EMPTY = new Uint8Array(0);

/** Bounded, acknowledgement-aware output retention for one process. */
export class OutputLog {
  // One entry per retained chunk, oldest first from #head: flat arrays instead of objects.
  #seqs: number[] = [];
  #streams: OutputStream[] = [];
  #slabs: Uint8Array[] = [];
  #offsets: number[] = [];
  #sizes: number[] = [];
  #head = 0;
  readonly #bytes: OutputBytes;
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
  readonly #tailBytes: number;
  readonly #undecidedBytes: number;
  /** Index past the last acknowledged retained chunk, and what the chunks from #head to it cost. */
  #ackedEnd = 0;
  #ackedBytes = 0;
  #followedUntil = 0;

  constructor(boundBytes: number, ackMode: EffectiveAckMode, pool?: SlabPool) {
    this.#boundBytes = boundBytes;
    this.#tailBytes = Math.min(boundBytes, ACKNOWLEDGED_TAIL_BYTES);
    this.#undecidedBytes = Math.min(boundBytes, UNDECIDED_BOUND_BYTES);
    this.#ackMode = ackMode;
    this.#bytes = new OutputBytes(pool);
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
    // What counts as acknowledged depends on the mode: count it afresh.
    this.#ackedEnd = this.#head;
    this.#ackedBytes = 0;
    this.#evict();
  }

  /** Appends a copy of `bytes` as chunk `seq` (the caller assigns seqs in increasing order). */
  append(seq: number, stream: OutputStream, bytes: Uint8Array): void {
    this.#seqs.push(seq);
    this.#streams.push(stream);
    this.#slabs.push(this.#bytes.store(bytes));
    this.#offsets.push(this.#bytes.lastOffset);
    this.#sizes.push(bytes.length);
    this.#retainedBytes += bytes.length + CHUNK_OVERHEAD_BYTES;
    this.#evict();
  }

  /** Drops everything retained and gives the slabs back (the process is gone for good). */
  dispose(): void {
    this.#seqs = [];
    this.#streams = [];
    this.#slabs = [];
    this.#offsets = [];
    this.#sizes = [];
    this.#head = 0;
    this.#ackedEnd = 0;
    this.#ackedBytes = 0;
    this.#retainedBytes = 0;
    this.#bytes.releaseAll();
  }

  /**
   * Someone follows this output without acknowledging it (the admin console, `exec-server logs -f`): for
   * a while, acknowledged output is kept up to the full bound, not only the tail, so a follower lagging
   * behind the agent still sees every byte. It never holds back the process.
   */
  noteFollower(): void {
    this.#followedUntil = performance.now() + FOLLOWER_GRACE_MS;
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
   * mode in-flight output is left out: the connection's own backpressure bounds it. While `undecided`,
   * the bound is {@link UNDECIDED_BOUND_BYTES} at most: the decision comes within moments, and what
   * waits for it is held whatever the client turns out to be.
   */
  get hasRoom(): boolean {
    const counted = this.#ackMode === "notification"
      ? this.#retainedBytes - this.#inFlightBytes
      : this.#retainedBytes;
    return counted < (this.#ackMode === "undecided" ? this.#undecidedBytes : this.#boundBytes);
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
    for (; index < this.#seqs.length; index++) {
      const size = this.#sizes[index];
      if (chunks.length > 0 && total + size > maxBytes) break;
      const offset = this.#offsets[index];
      const chunk = this.#slabs[index].subarray(offset, offset + size).toBase64();
      chunks.push({ seq: this.#seqs[index], stream: this.#streams[index], chunk, size });
      total += size;
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
    return this.#seqs.length > this.#head && this.#seqs[this.#seqs.length - 1] > afterSeq;
  }

  #firstIndexAfter(afterSeq: number): number {
    let lo = this.#head;
    let hi = this.#seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#seqs[mid] <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #ackedSeq(): number {
    return this.#ackMode === "notification"
      ? Math.max(this.#readCursor, this.#notifiedSeq)
      : this.#readCursor;
  }

  /**
   * Evicts acknowledged chunks, oldest first, while the log is at its bound or the acknowledged ones
   * hold more bytes than the tail kept for late readers.
   */
  #evict(): void {
    const acked = this.#ackedSeq();
    while (this.#ackedEnd < this.#seqs.length && this.#seqs[this.#ackedEnd] <= acked) {
      this.#ackedBytes += this.#sizes[this.#ackedEnd];
      this.#ackedEnd++;
    }
    while (this.#head < this.#ackedEnd && this.#overBudget()) {
      const seq = this.#seqs[this.#head];
      const size = this.#sizes[this.#head];
      this.#slabs[this.#head] = EMPTY;
      this.#head++;
      this.#bytes.releaseOldest();
      this.#retainedBytes -= size + CHUNK_OVERHEAD_BYTES;
      this.#ackedBytes -= size;
      this.#recordEviction(seq, size);
    }
    // Compact the arrays now and then so the dead prefix does not grow forever.
    if (this.#head > 1024 && this.#head * 2 > this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#streams = this.#streams.slice(this.#head);
      this.#slabs = this.#slabs.slice(this.#head);
      this.#offsets = this.#offsets.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#ackedEnd -= this.#head;
      this.#head = 0;
    }
    if (this.hasRoom && this.#roomWaiters.length > 0) this.releaseWaiters();
  }

  /** At the bound, or holding more acknowledged output than the tail while no follower needs it. */
  #overBudget(): boolean {
    if (this.#retainedBytes >= this.#boundBytes) return true;
    return this.#ackedBytes > this.#tailBytes && performance.now() > this.#followedUntil;
  }

  #recordEviction(seq: number, size: number): void {
    this.#evictedSeqs.push(seq);
    this.#evictedSizes.push(size);
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
