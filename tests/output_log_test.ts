/** The retention bound of `OutputLog`: what it counts, what it evicts, and what it never loses. */
import assert from "node:assert/strict";
import {
  ACKNOWLEDGED_TAIL_BYTES,
  CHUNK_OVERHEAD_BYTES,
  OutputLog,
  UNDECIDED_BOUND_BYTES,
} from "../src/process/output_log.ts";
import { SlabPool } from "../src/process/output_slabs.ts";

function appendOneByteChunks(log: OutputLog, limit: number): number {
  const byte = new Uint8Array(1);
  let seq = 0;
  while (log.hasRoom && seq < limit) {
    byte[0] = seq & 0xff;
    seq++;
    log.append(seq, "stdout", byte);
  }
  return seq;
}

Deno.test("OutputLog counts each chunk's bookkeeping, so 1-byte writes fill the bound as their memory does", () => {
  const bound = 64 * 1024;
  const log = new OutputLog(bound, "read");
  const chunks = appendOneByteChunks(log, 1_000_000);
  assert.equal(log.hasRoom, false);
  assert.equal(chunks, Math.ceil(bound / (1 + CHUNK_OVERHEAD_BYTES)));
});

Deno.test("OutputLog's bound bounds the heap of 1-byte chunks within 2x", () => {
  const bound = 1024 * 1024;
  const before = Deno.memoryUsage().heapUsed;
  const log = new OutputLog(bound, "read");
  appendOneByteChunks(log, 10_000_000);
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.ok(grown < 2 * bound, `1 MiB bound held ${grown} bytes of heap`);
  assert.ok(log.page(0, Number.MAX_SAFE_INTEGER).chunks.length > 0);
});

Deno.test("OutputLog evicts acknowledged chunks only as far as the bound needs, and reports what a late reader missed", () => {
  const log = new OutputLog(4 * (100 + CHUNK_OVERHEAD_BYTES), "read");
  for (let seq = 1; seq <= 4; seq++) {
    log.append(seq, "stdout", new Uint8Array(100));
  }
  assert.equal(log.hasRoom, false, "full of unacknowledged output");
  assert.equal(log.page(0, Infinity).chunks.length, 4);
  log.acknowledgeRead(2);
  assert.equal(log.hasRoom, true);
  assert.deepEqual(log.page(0, Infinity).chunks.map((c) => c.seq), [2, 3, 4], "one eviction made room");
  assert.equal(log.page(0, Infinity).droppedBytes, 100);
  assert.equal(log.page(1, Infinity).droppedBytes, 0);
});

Deno.test("OutputLog in notification mode frees written chunks, in read mode only read ones", () => {
  for (const mode of ["notification", "read"] as const) {
    const log = new OutputLog(2 * (10 + CHUNK_OVERHEAD_BYTES), mode);
    log.append(1, "stdout", new Uint8Array(10));
    log.append(2, "stdout", new Uint8Array(10));
    log.acknowledgeNotification(2);
    assert.equal(log.hasRoom, mode === "notification", mode);
  }
});

/** A log bounded at two 10-byte chunks, full with seqs 1 and 2. */
function fullLog(mode: "notification" | "read" | "undecided"): OutputLog {
  const log = new OutputLog(2 * (10 + CHUNK_OVERHEAD_BYTES), mode);
  log.append(1, "stdout", new Uint8Array(10));
  log.append(2, "stderr", new Uint8Array(10));
  return log;
}

Deno.test("OutputLog eviction per ack mode: a written notification frees room only in notification mode, a read cursor in every mode", () => {
  const byNotification = { notification: true, read: false, undecided: false };
  for (const [mode, frees] of Object.entries(byNotification)) {
    const log = fullLog(mode as keyof typeof byNotification);
    assert.equal(log.hasRoom, false, mode);
    log.acknowledgeNotification(1);
    assert.equal(log.hasRoom, frees, `${mode}: notification`);
    const read = fullLog(mode as keyof typeof byNotification);
    read.acknowledgeRead(1);
    assert.equal(read.hasRoom, true, `${mode}: read cursor`);
    assert.deepEqual(read.page(0, Infinity).chunks.map((c) => c.seq), [2], `${mode}: only seq 1 evicted`);
  }
});

Deno.test("OutputLog deciding notification mode frees the chunks whose notifications were already written", () => {
  const log = fullLog("undecided");
  log.acknowledgeNotification(2);
  assert.equal(log.hasRoom, false, "undecided: written notifications are remembered, not yet counted");
  log.ackMode = "notification";
  assert.equal(log.hasRoom, true);
  assert.equal(log.page(0, Infinity).droppedBytes, 10, "only as much as the bound needed");
});

Deno.test("OutputLog.whenRoom stays pending while full and resolves when an acknowledgement frees room", async () => {
  const log = fullLog("read");
  let resolved = false;
  const room = log.whenRoom().then(() => resolved = true);
  log.acknowledgeNotification(2); // read mode: does not free anything
  await Promise.resolve();
  assert.equal(resolved, false);
  log.acknowledgeRead(1);
  await room;
  assert.equal(resolved, true);
});

Deno.test("OutputLog.releaseWaiters releases room waiters of a full log (the process is going away)", async () => {
  const log = fullLog("read");
  const room = log.whenRoom();
  log.releaseWaiters();
  await room;
  assert.equal(log.hasRoom, false, "still full: the waiters were released, not the bound");
});

Deno.test("OutputLog.page returns the first chunk whatever its size, then stops before exceeding maxBytes", () => {
  const log = new OutputLog(1 << 20, "read");
  const sizes = [50, 30, 30, 10];
  sizes.forEach((size, i) => log.append(i + 1, "stdout", new Uint8Array(size)));
  assert.deepEqual(log.page(0, 20).chunks.map((c) => c.seq), [1], "an oversized first chunk still comes");
  assert.deepEqual(log.page(0, 100).chunks.map((c) => c.seq), [1, 2], "50+30 fits, +30 would not");
  assert.deepEqual(log.page(1, 60).chunks.map((c) => c.seq), [2, 3], "stops once maxBytes is reached");
  assert.deepEqual(log.page(4, 100).chunks, []);
  assert.equal(log.hasChunksAfter(3), true);
  assert.equal(log.hasChunksAfter(4), false);
});

Deno.test("OutputLog in notification mode keeps in-flight chunks until delivered, without counting them against the bound", () => {
  const log = new OutputLog(4 * (100 + CHUNK_OVERHEAD_BYTES), "notification");
  const chunk = (seq: number) => log.append(seq, "stdout", new Uint8Array(100));
  for (let seq = 1; seq <= 8; seq++) {
    chunk(seq);
    log.noteSent(seq, 100);
  }
  // Twice the bound sent and none delivered: all retained (a resume replays them), and still room.
  assert.equal(log.page(0, Infinity).chunks.length, 8);
  assert.equal(log.hasRoom, true);
  // Delivered up to 6: those may go, until the log is below its bound.
  log.acknowledgeNotification(6);
  assert.deepEqual(log.page(0, Infinity).chunks.map((c) => c.seq), [6, 7, 8]);
  assert.equal(log.page(0, Infinity).droppedBytes, 500);
  // The connection is gone: the undelivered chunks count against the bound again.
  log.forgetInFlight();
  for (let seq = 9; seq <= 10; seq++) chunk(seq);
  assert.deepEqual(log.page(6, Infinity).chunks.map((c) => c.seq), [7, 8, 9, 10]);
  assert.equal(log.hasRoom, false);
});

Deno.test("OutputLog's acknowledged tail counts payload bytes, while the bound still caps a trickle's overhead", () => {
  const bound = 8 * 1024 * 1024;
  const log = new OutputLog(bound, "notification");
  const byte = new Uint8Array(1);
  const deliver = (from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) {
      log.append(seq, "stdout", byte);
      log.noteSent(seq, 1);
      log.acknowledgeNotification(seq);
    }
  };
  // 20,000 one-byte chunks: 20 KB of payload, ~2.6 MB with the per-chunk overhead (over the tail's 1 MiB
  // if overhead counted, within the bound): all stay readable.
  deliver(1, 20_000);
  let page = log.page(0, Infinity);
  assert.equal(page.chunks.length, 20_000);
  assert.equal(page.droppedBytes, 0);
  // 100,000 chunks cost more than the bound: the oldest go, and what is kept fits the bound.
  deliver(20_001, 100_000);
  page = log.page(0, Infinity);
  const maxChunks = Math.ceil(bound / (1 + CHUNK_OVERHEAD_BYTES));
  assert.ok(page.chunks.length <= maxChunks, `${page.chunks.length} chunks kept, bound allows ${maxChunks}`);
  assert.ok(page.chunks.length > maxChunks - 10, "the newest chunks up to the bound stay readable");
  assert.equal(page.chunks.at(-1)!.seq, 100_000);
  assert.equal(page.droppedBytes, 100_000 - page.chunks.length);
});

Deno.test("OutputLog keeps only a tail of acknowledged output, however large its bound", () => {
  const bound = 8 * 1024 * 1024;
  const log = new OutputLog(bound, "read");
  const chunk = new Uint8Array(64 * 1024);
  const chunks = 64; // 4 MiB, well within the bound
  for (let seq = 1; seq <= chunks; seq++) log.append(seq, "stdout", chunk);
  assert.equal(log.page(0, Infinity).chunks.length, chunks, "unacknowledged: all kept");
  log.acknowledgeRead(chunks);
  const kept = log.page(0, Infinity);
  const keptBytes = kept.chunks.reduce((sum, c) => sum + c.size, 0);
  assert.ok(keptBytes <= ACKNOWLEDGED_TAIL_BYTES, `kept ${keptBytes} acknowledged bytes`);
  assert.ok(keptBytes > ACKNOWLEDGED_TAIL_BYTES / 2, "the newest acknowledged output stays readable");
  assert.equal(kept.chunks.at(-1)!.seq, chunks);
  assert.equal(kept.droppedBytes, chunks * chunk.length - keptBytes);
});

Deno.test("OutputLog holds at most UNDECIDED_BOUND_BYTES until the ack mode is decided", () => {
  const log = new OutputLog(8 * 1024 * 1024, "undecided");
  const chunk = new Uint8Array(64 * 1024);
  let seq = 0;
  while (log.hasRoom && seq < 1000) log.append(++seq, "stdout", chunk);
  assert.equal(seq, Math.ceil(UNDECIDED_BOUND_BYTES / (chunk.length + CHUNK_OVERHEAD_BYTES)));
  log.ackMode = "read";
  assert.equal(log.hasRoom, true, "decided: the full bound applies");
  assert.equal(log.page(0, Infinity).chunks.length, seq, "nothing was dropped");
});

Deno.test("OutputLog pages return the bytes appended, and the caller may reuse its buffer at once", () => {
  const log = new OutputLog(1 << 20, "read");
  const buffer = new Uint8Array(3);
  for (let seq = 1; seq <= 3; seq++) {
    buffer.fill(0x60 + seq);
    log.append(seq, seq === 2 ? "stderr" : "stdout", buffer);
  }
  const page = log.page(0, Infinity);
  assert.deepEqual(page.chunks.map((c) => [c.seq, c.stream, atob(c.chunk)]), [
    [1, "stdout", "aaa"],
    [2, "stderr", "bbb"],
    [3, "stdout", "ccc"],
  ]);
});

Deno.test("A streaming OutputLog cycles pooled slabs instead of allocating new ones", () => {
  const pool = new SlabPool();
  const log = new OutputLog(2 * 1024 * 1024, "read", pool);
  const chunk = new Uint8Array(64 * 1024);
  const taken = new Set<Uint8Array>();
  const originalTake = pool.take.bind(pool);
  pool.take = (bytes: number) => {
    const slab = originalTake(bytes);
    taken.add(slab);
    return slab;
  };
  // 64 MiB through a 2 MiB bound, read as it goes.
  for (let seq = 1; seq <= 1024; seq++) {
    log.append(seq, "stdout", chunk);
    log.acknowledgeRead(seq);
  }
  assert.ok(taken.size <= 16, `${taken.size} distinct slabs for 64 MiB of output`);
  log.dispose();
  assert.ok(pool.pooled > 0, "disposing gives the slabs back");
});

Deno.test("OutputLog keeps acknowledged output up to its bound while a follower looks, so it misses nothing", () => {
  const log = new OutputLog(8 * 1024 * 1024, "read");
  log.noteFollower();
  const chunk = new Uint8Array(64 * 1024);
  for (let seq = 1; seq <= 64; seq++) {
    log.append(seq, "stdout", chunk);
    log.acknowledgeRead(seq);
  }
  const page = log.page(0, Infinity);
  assert.equal(page.chunks.length, 64, "4 MiB acknowledged, all kept for the follower");
  assert.equal(page.droppedBytes, 0);
});
