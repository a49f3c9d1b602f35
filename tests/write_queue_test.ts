/** `WriteQueue`: UTF-8 across its buffer boundary, coalescing, callbacks, back-pressure, failure, kill. */
import assert from "node:assert/strict";
import {
  BUFFER_BYTES,
  messageLength,
  messageText,
  type OutgoingMessage,
  WriteQueue,
} from "../src/rpc/write_queue.ts";

/** A sink that records every write (copied: the queue reuses its buffer) and can hold writes open. */
class RecordingSink {
  readonly writes: Uint8Array[] = [];
  readonly errors: unknown[] = [];
  #held: PromiseWithResolvers<void> | null = null;
  #failWith: unknown = null;

  hold(): void {
    this.#held = Promise.withResolvers<void>();
  }

  release(): void {
    const held = this.#held;
    this.#held = null;
    held?.resolve();
  }

  failNextWrite(error: unknown): void {
    this.#failWith = error;
  }

  readonly write = async (bytes: Uint8Array): Promise<void> => {
    if (this.#failWith !== null) {
      const error = this.#failWith;
      this.#failWith = null;
      throw error;
    }
    this.writes.push(bytes.slice());
    if (this.#held) await this.#held.promise;
  };

  readonly onError = (error: unknown): void => {
    this.errors.push(error);
  };

  text(): string {
    const all = new Uint8Array(this.writes.reduce((n, w) => n + w.length, 0));
    let offset = 0;
    for (const write of this.writes) {
      all.set(write, offset);
      offset += write.length;
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  }
}

/** True when `promise` has settled by the time the microtask queue is drained once more. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return settled;
}

Deno.test("WriteQueue keeps a multi-byte character whole when it falls across the write buffer boundary", async () => {
  // For each character width and each position around the boundary, the bytes on the wire decode
  // (strictly) to exactly the message: nothing split into replacement characters, nothing lost.
  for (const char of ["é", "€", "😀"]) {
    for (let shift = -4; shift <= 1; shift++) {
      const sink = new RecordingSink();
      const queue = new WriteQueue(sink, 0);
      const message = "a".repeat(BUFFER_BYTES + shift) + char + "z".repeat(10);
      queue.push(message);
      await queue.whenIdle();
      assert.ok(sink.writes.length >= 2, `${char} at ${shift}: the message spans two writes`);
      assert.equal(sink.text(), `${message}\n`, `${char} at ${shift}`);
      for (const write of sink.writes) assert.ok(write.length <= BUFFER_BYTES);
    }
  }
});

Deno.test("WriteQueue keeps a message given in parts byte-identical to its concatenation, across writes", async () => {
  const sink = new RecordingSink();
  const queue = new WriteQueue(sink, 0);
  const parts: OutgoingMessage = ['{"chunk":"', "😀".repeat(BUFFER_BYTES / 3), '"}'];
  queue.push(parts);
  queue.push("second");
  await queue.whenIdle();
  assert.equal(sink.text(), `${parts.join("")}\nsecond\n`);
});

Deno.test("WriteQueue sends messages queued in one turn in one write, and runs each callback after its write", async () => {
  const sink = new RecordingSink();
  const queue = new WriteQueue(sink, 0);
  const written: string[] = [];
  queue.push("one", () => written.push(`one after ${sink.writes.length} write(s)`));
  queue.push(["t", "wo"], () => written.push(`two after ${sink.writes.length} write(s)`));
  assert.deepEqual(written, [], "nothing is written synchronously");
  await queue.whenIdle();
  assert.equal(sink.writes.length, 1);
  assert.equal(sink.text(), "one\ntwo\n");
  assert.deepEqual(written, ["one after 1 write(s)", "two after 1 write(s)"]);
  assert.equal(queue.queuedBytes, 0);
});

Deno.test("WriteQueue holds whenWritable until the queue drains below its low-water mark", async () => {
  const sink = new RecordingSink();
  const queue = new WriteQueue(sink, 10);
  sink.hold();
  queue.push("x".repeat(100));
  assert.equal(queue.queuedBytes, 101);
  const writable = queue.whenWritable();
  assert.equal(await isSettled(writable), false, "above the low-water mark while the write is held");
  sink.release();
  await writable;
  assert.equal(queue.queuedBytes, 0);
  assert.equal(await isSettled(queue.whenWritable()), true, "below the mark it resolves at once");
});

Deno.test("WriteQueue reports a failed write once and drops everything after it", async () => {
  const sink = new RecordingSink();
  const queue = new WriteQueue(sink, 0);
  const failure = new Error("broken pipe");
  sink.failNextWrite(failure);
  let called = false;
  queue.push("lost", () => called = true);
  await queue.whenIdle();
  assert.deepEqual(sink.errors, [failure]);
  queue.push("after the failure");
  await queue.whenIdle();
  assert.equal(sink.writes.length, 0);
  assert.equal(called, false, "a message that was not written never reports written");
  assert.equal(queue.queuedBytes, 0);
});

Deno.test("WriteQueue.kill drops queued messages and wakes every waiter", async () => {
  const sink = new RecordingSink();
  const queue = new WriteQueue(sink, 0);
  sink.hold();
  queue.push("in flight");
  await Promise.resolve(); // the flush starts and its write is held
  queue.push("queued behind it");
  const writable = queue.whenWritable();
  const idle = queue.whenIdle();
  queue.kill();
  assert.equal(await isSettled(writable), true);
  assert.equal(await isSettled(idle), true);
  sink.release();
  await queue.whenIdle();
  assert.equal(sink.text(), "in flight\n", "only the write already in flight reached the sink");
  assert.deepEqual(sink.errors, [], "a kill is not an error");
});

Deno.test("WriteQueue sends a bytes part as its base64, whatever the buffer boundary it falls on", async () => {
  // Sizes around one and several buffers, and prefixes that shift where the part's pieces are cut.
  const sizes = [0, 1, 2, 3, 4, BUFFER_BYTES - 1, (BUFFER_BYTES / 4) * 3 + 1, 3 * BUFFER_BYTES + 2];
  for (const size of sizes) {
    for (const prefix of ["", "x", "xyz12"]) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 131 + size) & 0xff;
      const sink = new RecordingSink();
      const queue = new WriteQueue(sink, 0);
      const message: OutgoingMessage = [`${prefix}"`, bytes, '"'];
      assert.equal(messageLength(message), messageText(message).length, `${size}: length counted right`);
      queue.push(message);
      await queue.whenIdle();
      assert.equal(sink.text(), `${prefix}"${bytes.toBase64()}"\n`, `${size} bytes after ${prefix.length}`);
      assert.equal(queue.queuedBytes, 0);
    }
  }
});
