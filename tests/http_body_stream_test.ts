import assert from "node:assert/strict";
import type { BodyReader } from "../src/http/body_reader.ts";
import { streamBody } from "../src/http/body_stream.ts";
import { BodyError } from "../src/http/http_errors.ts";
import { frameBytes, MemorySink } from "./http_support.ts";

const KiB = 1024;

/** A body of `total` bytes served in pieces of at most `piece` bytes, counting what was pulled. */
function fakeBody(total: number, piece: number, failAt = Infinity) {
  const stats = { read: 0, calls: 0 };
  const body: BodyReader = {
    read(max) {
      stats.calls++;
      if (stats.read >= failAt) return Promise.reject(new BodyError("reset"));
      if (stats.read >= total) return Promise.resolve(null);
      const n = Math.min(piece, max, total - stats.read);
      const bytes = Uint8Array.from({ length: n }, (_, i) => (stats.read + i) & 0xff);
      stats.read += n;
      return Promise.resolve(bytes);
    },
  };
  return { body, stats };
}

/** Lets pending promise chains and I/O callbacks run (a few macrotask turns, bounded). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("http/request body stream reads at most one frame ahead of a stalled client, then coalesces", async () => {
  const frameMax = 64 * KiB;
  const { body, stats } = fakeBody(200 * KiB, KiB);
  const sink = new MemorySink();
  sink.hold();
  const finished = streamBody({
    requestId: "c1",
    body,
    sink,
    signal: new AbortController().signal,
    maxFrameBytes: frameMax,
  });
  await settle();
  assert.equal(stats.read, frameMax, "read-ahead stops at one frame");
  assert.equal(sink.frames.length, 0);
  sink.resume();
  await finished;
  const frames = sink.frames;
  assert.equal(frames[0].seq, 1);
  assert.equal(Uint8Array.fromBase64(frames[0].deltaBase64).length, frameMax, "1 KiB reads coalesced");
  assert.ok(frames.every((f) => Uint8Array.fromBase64(f.deltaBase64).length <= frameMax));
  assert.deepEqual(frames.map((f) => f.seq), frames.map((_, i) => i + 1));
  assert.deepEqual(frames.at(-1), {
    requestId: "c1",
    seq: frames.length,
    deltaBase64: "",
    done: true,
    error: null,
  });
  const bytes = frameBytes(frames);
  assert.equal(bytes.length, 200 * KiB);
  assert.ok(bytes.every((b, i) => b === (i & 0xff)));
});

Deno.test("http/request body stream ends with an error frame when the body breaks", async () => {
  const { body } = fakeBody(100 * KiB, 4 * KiB, 10 * KiB);
  const sink = new MemorySink();
  await streamBody({ requestId: "e1", body, sink, signal: new AbortController().signal });
  const last = sink.frames.at(-1)!;
  assert.equal(last.done, true);
  assert.equal(last.error, "error decoding response body");
  assert.equal(frameBytes(sink.frames).length, 12 * KiB, "data read before the failure is delivered");
});

Deno.test("http/request body stream stops without a terminal frame when nobody is attached", async () => {
  const { body, stats } = fakeBody(10 * 1024 * KiB, 64 * KiB);
  const sink = new MemorySink();
  sink.onFrame = () => (sink.attached = false);
  await streamBody({ requestId: "d1", body, sink, signal: new AbortController().signal });
  await settle();
  assert.equal(sink.frames.length, 1);
  assert.equal(sink.frames[0].done, false);
  assert.ok(stats.read < 1024 * KiB, "stopped reading");
});
