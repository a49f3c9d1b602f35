import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ErrorCode, RpcError } from "../src/protocol/errors.ts";
import type { HttpBodyDeltaNotification, HttpRequestParams } from "../src/protocol/http.ts";
import { createHttpRequestHandler, MAX_FRAME_BYTES } from "../src/http/mod.ts";
import { context, frameBytes, head, MemorySink, startRawServer } from "./http_support.ts";

const MiB = 1024 * 1024;

function streamParams(url: string, p: Partial<HttpRequestParams> = {}): HttpRequestParams {
  return { method: "GET", url, requestId: "s1", streamResponse: true, ...p };
}

/** Checks the frame contract: seq 1..N, data frames non-empty, exactly one terminal frame, last. */
function assertFrameSequence(frames: HttpBodyDeltaNotification[], requestId = "s1"): void {
  frames.forEach((f, i) => {
    assert.equal(f.requestId, requestId);
    assert.equal(f.seq, i + 1);
    if (i < frames.length - 1) {
      assert.equal(f.done, false);
      assert.equal(f.error, null);
      assert.ok(f.deltaBase64.length > 0, "data frames are never empty");
    }
  });
  const last = frames.at(-1)!;
  assert.equal(last.done, true);
  assert.equal(last.deltaBase64, "");
}

/** A server that sends `total` bytes (content-length framed) in 64 KiB writes, hashing what it sent. */
function bulkServer(total: number) {
  const block = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const hash = createHash("sha256");
  const state = { written: 0, digest: "" };
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Type", "application/octet-stream"], ["Content-Length", total]]));
    for (let i = 0; state.written < total; i++) {
      block[0] = i & 0xff; // vary the blocks so misordered frames change the hash
      const piece = block.subarray(0, Math.min(block.length, total - state.written));
      hash.update(piece);
      await write(piece);
      state.written += piece.length;
    }
    state.digest = hash.digest("hex");
  });
  return { server, state };
}

/** A sink that hashes data frames as they arrive and checks seq order without keeping the data. */
function hashingSink() {
  const sink = new MemorySink();
  sink.keepFrames = false;
  const hash = createHash("sha256");
  const stats = { frames: 0, nextSeq: 1, maxFrame: 0, bytes: 0, responded: false };
  sink.onFrame = (f) => {
    assert.ok(stats.responded, "no frame before the response");
    assert.equal(f.seq, stats.nextSeq++);
    if (f.done) return;
    assert.equal(f.error, null);
    const bytes = Uint8Array.fromBase64(f.deltaBase64);
    assert.ok(bytes.length > 0);
    stats.frames++;
    stats.bytes += bytes.length;
    stats.maxFrame = Math.max(stats.maxFrame, bytes.length);
    hash.update(bytes);
  };
  return { sink, stats, digest: () => hash.digest("hex") };
}

Deno.test("http/request streams a 50 MB body in ordered frames after the response, sha256 intact", async () => {
  const total = 50 * MiB;
  const { server, state } = bulkServer(total);
  try {
    const handler = createHttpRequestHandler();
    const { sink, stats, digest } = hashingSink();
    const { result, afterResponse } = await handler.handle(streamParams(server.url("/big")), context(sink));
    assert.equal(result.status, 200);
    assert.equal(result.bodyBase64, "");
    assert.ok(result.headers.some((h) => h.name === "content-length" && h.value === String(total)));
    assert.ok(afterResponse);
    stats.responded = true;
    afterResponse();
    const done = await sink.done();
    assert.equal(done.error, null);
    assert.equal(done.seq, stats.frames + 1);
    assert.equal(stats.bytes, total);
    assert.ok(stats.maxFrame <= MAX_FRAME_BYTES);
    assert.equal(digest(), state.digest);
    assert.equal(handler.activeStreamIds.size, 0, "id released after the terminal frame");
  } finally {
    await server.close();
  }
});

Deno.test("http/request streaming sends no frame before afterResponse, then small events promptly", async () => {
  const events = ["data: 0\n\n", "data: 1\n\n", "data: 2\n\n"];
  const sink = new MemorySink();
  const delivered: PromiseWithResolvers<void>[] = events.map(() => Promise.withResolvers<void>());
  const headSent = Promise.withResolvers<void>();
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Type", "text/event-stream"], ["Transfer-Encoding", "chunked"]]));
    headSent.resolve();
    for (let i = 0; i < events.length; i++) {
      await write(`${events[i].length.toString(16)}\r\n${events[i]}\r\n`);
      // The next event is only sent once this one reached the client: frames must not wait to coalesce.
      await delivered[i].promise;
    }
    await write("0\r\n\r\n");
  });
  try {
    const handler = createHttpRequestHandler();
    const outcome = await handler.handle(streamParams(server.url("/events")), context(sink));
    await headSent.promise;
    assert.equal(sink.frames.length, 0, "frames wait for afterResponse");
    sink.mark("response");
    sink.onFrame = (f) => {
      const text = new TextDecoder().decode(frameBytes([...sink.frames, f]));
      events.forEach((e, i) => text.includes(e) && delivered[i].resolve());
    };
    outcome.afterResponse!();
    outcome.afterResponse!(); // idempotent
    await sink.done();
    assert.deepEqual(sink.events[0], { kind: "mark", label: "response" });
    const frames = sink.frames;
    assertFrameSequence(frames);
    assert.equal(frames.length, events.length + 1, "one frame per event");
    assert.equal(new TextDecoder().decode(frameBytes(frames)), events.join(""));
    assert.equal(frames.at(-1)!.error, null);
  } finally {
    await server.close();
  }
});

Deno.test("http/request streaming an empty body sends one terminal frame", async () => {
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Length", 12345]]));
  });
  try {
    const sink = new MemorySink();
    const handler = createHttpRequestHandler();
    const outcome = await handler.handle(streamParams(server.url(), { method: "HEAD" }), context(sink));
    outcome.afterResponse!();
    await sink.done();
    assert.deepEqual(sink.frames, [{ requestId: "s1", seq: 1, deltaBase64: "", done: true, error: null }]);
  } finally {
    await server.close();
  }
});

Deno.test("http/request timeout mid-stream ends with a done frame carrying an error", async () => {
  const stall = Promise.withResolvers<void>();
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Length", 1000]]) + "first bytes");
    await stall.promise;
  });
  try {
    const sink = new MemorySink();
    const handler = createHttpRequestHandler();
    const outcome = await handler.handle(streamParams(server.url(), { timeoutMs: 300 }), context(sink));
    outcome.afterResponse!();
    const done = await sink.done();
    assert.equal(done.error, "error decoding response body");
    assertFrameSequence(sink.frames);
    assert.equal(new TextDecoder().decode(frameBytes(sink.frames)), "first bytes");
    assert.equal(handler.activeStreamIds.size, 0);
  } finally {
    stall.resolve();
    await server.close();
  }
});

Deno.test("http/request upstream reset mid-body ends with an error frame", async () => {
  for (const framing of ["length", "chunked"] as const) {
    const server = startRawServer(async ({ write, conn }) => {
      if (framing === "length") await write(head(200, [["Content-Length", MiB]]) + "x".repeat(5000));
      else await write(head(200, [["Transfer-Encoding", "chunked"]]) + "1388\r\n" + "x".repeat(2000));
      conn.close(); // the server drops the connection mid-body
    });
    try {
      const sink = new MemorySink();
      const handler = createHttpRequestHandler();
      const outcome = await handler.handle(streamParams(server.url()), context(sink));
      outcome.afterResponse!();
      const done = await sink.done();
      assert.equal(done.error, "error decoding response body", framing);
      assertFrameSequence(sink.frames);
      assert.equal(handler.activeStreamIds.size, 0);
    } finally {
      await server.close();
    }
  }
});

Deno.test("http/request backpressure: a held sink stops upstream reads until it is writable", async () => {
  const total = 50 * MiB;
  const { server, state } = bulkServer(total);
  try {
    const { sink, stats, digest } = hashingSink();
    const onFrame = sink.onFrame!;
    sink.onFrame = (f) => {
      onFrame(f);
      if (f.seq === 1) sink.hold(); // the client's queue is "full" from the first frame on
    };
    const handler = createHttpRequestHandler();
    const outcome = await handler.handle(streamParams(server.url()), context(sink));
    stats.responded = true;
    outcome.afterResponse!();
    await sink.until(() => stats.frames >= 1);
    // Wait until the server's writes stop making progress (TCP flow control), bounded.
    let last = -1;
    for (let i = 0; i < 200 && state.written !== last; i++) {
      last = state.written;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(state.written, last, "server writes stalled");
    assert.ok(state.written < 24 * MiB, `server could only push ${state.written} bytes (kernel buffers)`);
    assert.equal(stats.frames, 1, "no frames while not writable");
    sink.resume();
    const done = await sink.done();
    assert.equal(done.error, null);
    assert.equal(stats.bytes, total);
    assert.equal(digest(), state.digest);
  } finally {
    await server.close();
  }
});

Deno.test("http/request duplicate active streaming requestId is refused and reusable after done", async () => {
  const finish = Promise.withResolvers<void>();
  const server = startRawServer(async ({ request, write }) => {
    if (request.target === "/quick") return await write(head(200, [["Content-Length", 2]]) + "ok");
    await write(head(200, [["Transfer-Encoding", "chunked"]]) + "3\r\nabc\r\n");
    await finish.promise;
    await write("0\r\n\r\n");
  });
  try {
    const handler = createHttpRequestHandler();
    const sink = new MemorySink();
    const first = await handler.handle(streamParams(server.url("/slow")), context(sink));
    first.afterResponse!();
    assert.deepEqual([...handler.activeStreamIds], ["s1"]);
    await assert.rejects(handler.handle(streamParams(server.url("/quick")), context()), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, ErrorCode.InvalidParams);
      assert.equal(e.message, "http/request streamResponse requestId `s1` is already active");
      return true;
    });
    // A buffered request may reuse the id at any time.
    const buffered = await handler.handle(
      streamParams(server.url("/quick"), { streamResponse: false }),
      context(),
    );
    assert.equal(buffered.result.bodyBase64, "b2s=");
    finish.resolve();
    assert.equal((await sink.done()).error, null);
    assert.equal(new TextDecoder().decode(frameBytes(sink.frames)), "abc");
    const again = new MemorySink();
    (await handler.handle(streamParams(server.url("/quick")), context(again))).afterResponse!();
    assert.equal((await again.done()).error, null);
    assert.equal(handler.activeStreamIds.size, 0);
  } finally {
    finish.resolve();
    await server.close();
  }
});

Deno.test("http/request closed client connection aborts the stream with no more frames", async () => {
  const serverSawClose = Promise.withResolvers<void>();
  const server = startRawServer(async ({ write, conn }) => {
    await write(head(200, [["Content-Length", MiB]]) + "partial");
    // Blocks until the client side closes the socket.
    for (let i = 0; i < 1000 && (await conn.read(new Uint8Array(1024))) !== null; i++);
    serverSawClose.resolve();
  });
  try {
    const sink = new MemorySink();
    const handler = createHttpRequestHandler();
    const ctx = context(sink);
    const outcome = await handler.handle(streamParams(server.url()), ctx);
    outcome.afterResponse!();
    await sink.until(() => sink.frames.length >= 1);
    ctx.connection.abort();
    await serverSawClose.promise;
    assert.equal(sink.frames.some((f) => f.done), false, "no terminal frame for a closed connection");
    assert.equal(handler.activeStreamIds.size, 0);
  } finally {
    await server.close();
  }
});

Deno.test("http/request close() aborts in-flight requests of the connection", async () => {
  const stall = Promise.withResolvers<void>();
  const accepted = Promise.withResolvers<void>();
  const server = startRawServer(async () => {
    accepted.resolve();
    await stall.promise;
  });
  try {
    const handler = createHttpRequestHandler();
    const pending = handler.handle(streamParams(server.url(), { streamResponse: false }), context());
    await accepted.promise;
    handler.close();
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof RpcError && e.code === ErrorCode.InternalError,
    );
    await assert.rejects(handler.handle(streamParams(server.url()), context()), RpcError);
  } finally {
    stall.resolve();
    await server.close();
  }
});
