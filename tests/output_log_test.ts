/** The retention bound of `OutputLog`: what it counts, what it evicts, and what it never loses. */
import assert from "node:assert/strict";
import { CHUNK_OVERHEAD_BYTES, OutputLog } from "../src/process/output_log.ts";

function appendOneByteChunks(log: OutputLog, limit: number): number {
  const byte = new Uint8Array(1);
  let seq = 0;
  while (log.hasRoom && seq < limit) {
    byte[0] = seq & 0xff;
    seq++;
    log.append({ seq, stream: "stdout", chunk: byte.toBase64(), size: 1 });
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
    log.append({ seq, stream: "stdout", chunk: "x".repeat(136), size: 100 });
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
    log.append({ seq: 1, stream: "stdout", chunk: "a", size: 10 });
    log.append({ seq: 2, stream: "stdout", chunk: "b", size: 10 });
    log.acknowledgeNotification(2);
    assert.equal(log.hasRoom, mode === "notification", mode);
  }
});

/** A log bounded at two 10-byte chunks, full with seqs 1 and 2. */
function fullLog(mode: "notification" | "read" | "undecided"): OutputLog {
  const log = new OutputLog(2 * (10 + CHUNK_OVERHEAD_BYTES), mode);
  log.append({ seq: 1, stream: "stdout", chunk: "a", size: 10 });
  log.append({ seq: 2, stream: "stderr", chunk: "b", size: 10 });
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
  sizes.forEach((size, i) => log.append({ seq: i + 1, stream: "stdout", chunk: "x", size }));
  assert.deepEqual(log.page(0, 20).chunks.map((c) => c.seq), [1], "an oversized first chunk still comes");
  assert.deepEqual(log.page(0, 100).chunks.map((c) => c.seq), [1, 2], "50+30 fits, +30 would not");
  assert.deepEqual(log.page(1, 60).chunks.map((c) => c.seq), [2, 3], "stops once maxBytes is reached");
  assert.deepEqual(log.page(4, 100).chunks, []);
  assert.equal(log.hasChunksAfter(3), true);
  assert.equal(log.hasChunksAfter(4), false);
});

Deno.test("OutputLog in notification mode keeps in-flight chunks until delivered, without counting them against the bound", () => {
  const log = new OutputLog(4 * (100 + CHUNK_OVERHEAD_BYTES), "notification");
  const chunk = (seq: number) => ({ seq, stream: "stdout" as const, chunk: "", size: 100 });
  for (let seq = 1; seq <= 8; seq++) {
    log.append(chunk(seq));
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
  for (let seq = 9; seq <= 10; seq++) log.append(chunk(seq));
  assert.deepEqual(log.page(6, Infinity).chunks.map((c) => c.seq), [7, 8, 9, 10]);
  assert.equal(log.hasRoom, false);
});
