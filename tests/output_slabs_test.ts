/** `OutputBytes` and `OutputLog` over pooled slabs: what is read back is what was appended, whatever the sizes. */
import assert from "node:assert/strict";
import { OutputLog } from "../src/process/output_log.ts";
import { LARGE_SLAB_BYTES, OutputBytes, SlabPool, SMALL_SLAB_BYTES } from "../src/process/output_slabs.ts";

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** `size` bytes whose content names `seq`, so a chunk read from a reused slab region is caught. */
function chunkFor(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seq * 31 + i) & 0xff;
  return bytes;
}

Deno.test("OutputLog gives back every retained chunk byte for byte while slabs are reused under it", () => {
  const next = random(20261204);
  const pool = new SlabPool();
  const log = new OutputLog(2 * 1024 * 1024, "read", pool);
  const sizes = [1, 7, 4096, SMALL_SLAB_BYTES - 1, SMALL_SLAB_BYTES + 1, 65536, LARGE_SLAB_BYTES + 3];
  let acked = 0;
  for (let seq = 1; seq <= 3000; seq++) {
    log.append(
      seq,
      seq % 5 === 0 ? "stderr" : "stdout",
      chunkFor(seq, sizes[Math.floor(next() * sizes.length)]),
    );
    // Acknowledge in uneven steps, so eviction frees slabs at every kind of boundary.
    if (next() < 0.3) {
      acked = Math.min(seq, acked + Math.floor(next() * 20));
      log.acknowledgeRead(acked);
    }
    if (seq % 250 === 0) {
      const page = log.page(0, Number.MAX_SAFE_INTEGER);
      for (const chunk of page.chunks) {
        const bytes = Uint8Array.fromBase64(chunk.chunk);
        assert.equal(bytes.length, chunk.size);
        assert.deepEqual(bytes, chunkFor(chunk.seq, chunk.size), `chunk ${chunk.seq} at append ${seq}`);
        assert.equal(chunk.stream, chunk.seq % 5 === 0 ? "stderr" : "stdout");
      }
      // Nothing unacknowledged was evicted.
      const first = page.chunks[0]?.seq ?? seq + 1;
      assert.ok(first <= acked + 1, `chunk ${acked + 1} is unacknowledged but gone (first kept ${first})`);
    }
  }
  assert.ok(pool.pooled > 0, "evicted slabs went back to the pool");
});

Deno.test("OutputBytes keeps a chunk larger than a slab whole, in a slab of its own size", () => {
  const pool = new SlabPool();
  const bytes = new OutputBytes(pool);
  const big = chunkFor(1, LARGE_SLAB_BYTES * 2 + 5);
  const slab = bytes.store(big);
  assert.equal(slab.length, big.length);
  assert.deepEqual(slab.subarray(bytes.lastOffset, bytes.lastOffset + big.length), big);
  const small = bytes.store(chunkFor(2, 10));
  assert.notEqual(small, slab, "the next chunk goes to a new slab");
  bytes.releaseOldest();
  assert.equal(pool.pooled, 0, "a slab of an odd size is left to the garbage collector, not pooled");
  assert.equal(bytes.slabBytes, small.length);
});

Deno.test("OutputBytes starts a process with one small slab and refills it once everything is released", () => {
  const pool = new SlabPool();
  const bytes = new OutputBytes(pool);
  const first = bytes.store(chunkFor(1, 100));
  assert.equal(first.length, SMALL_SLAB_BYTES);
  bytes.releaseOldest();
  const again = bytes.store(chunkFor(2, 100));
  assert.equal(again, first, "the same slab, from its start");
  assert.equal(bytes.lastOffset, 0);
  bytes.releaseAll();
  assert.equal(pool.pooled, 1);
  assert.equal(bytes.slabBytes, 0);
});
