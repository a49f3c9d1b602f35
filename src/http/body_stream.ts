/**
 * Streams a response body as `http/request/bodyDelta` frames with end-to-end backpressure.
 *
 * Two cooperating loops share a queue bounded by one frame ({@link MAX_FRAME_BYTES}):
 * - the emitter waits for `whenWritable()` before every frame, then turns whatever is queued (up to one
 *   frame) into one notification;
 * - the reader pulls the next piece from the socket only while the queue has room. So while the client's
 *   outbound queue is full the reader stops after at most one frame of read-ahead, nothing more is taken
 *   from the socket, and TCP flow control stalls the upstream server.
 * That one frame of read-ahead is deliberate: it is what lets small network reads coalesce into larger
 * frames exactly when the client side is the bottleneck, while memory stays bounded per stream.
 *
 * @module
 */
import { HttpBodyDelta } from "../protocol/methods.ts";
import type { HttpBodyDeltaNotification } from "../protocol/http.ts";
import type { NotificationSink } from "../rpc/handler_context.ts";
import type { BodyReader } from "./body_reader.ts";
import { concat } from "./buffered_conn.ts";
import { BODY_DECODE_ERROR } from "./http_errors.ts";

/** Largest data frame, in body bytes (before base64). */
export const MAX_FRAME_BYTES = 256 * 1024;

/** What {@link streamBody} needs. */
export interface BodyStreamOptions {
  requestId: string;
  body: BodyReader;
  sink: NotificationSink;
  /** Aborts the stream: reason `"timeout"` ends it with an error frame, any other reason silently. */
  signal: AbortSignal;
  /** Frame size cap (tests use small values). */
  maxFrameBytes?: number;
}

/** A one-shot wake-up that can be awaited repeatedly. */
class Wakeup {
  #resolve: (() => void) | null = null;
  #promise: Promise<void> | null = null;
  wait(): Promise<void> {
    this.#promise ??= new Promise<void>((resolve) => (this.#resolve = resolve));
    return this.#promise;
  }
  wake(): void {
    this.#resolve?.();
    this.#resolve = null;
    this.#promise = null;
  }
}

/** Resolves with `p`, or with `"aborted"` as soon as `signal` aborts (listener removed either way). */
async function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | "aborted"> {
  if (signal.aborted) return "aborted";
  let onAbort!: () => void;
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Sends the body as frames `seq` 1..N (`done:false`, non-empty) then one `done:true` frame with an empty
 * delta and `error` null or `"error decoding response body"`. Resolves once the terminal frame is queued, or
 * (with no terminal frame) when the signal aborts for a reason other than `"timeout"` or the sink reports
 * that nothing is attached. Never rejects. The caller closes the connection afterwards.
 */
export async function streamBody(options: BodyStreamOptions): Promise<void> {
  const { requestId, body, sink } = options;
  // Also stops the reader when the sink reports nobody is attached.
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const maxFrame = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failed = false;
  const dataReady = new Wakeup();
  const roomReady = new Wakeup();

  const reader = (async () => {
    try {
      for (;;) {
        while (queued >= maxFrame) {
          if ((await unlessAborted(roomReady.wait(), signal)) === "aborted") throw signal.reason;
        }
        const piece = await body.read(maxFrame - queued);
        if (piece === null) return;
        queue.push(piece);
        queued += piece.length;
        dataReady.wake();
      }
    } catch {
      failed = true;
    } finally {
      ended = true;
      dataReady.wake();
    }
  })();

  let seq = 0;
  const send = (frame: Omit<HttpBodyDeltaNotification, "requestId" | "seq">): boolean =>
    sink.notify(
      HttpBodyDelta.method,
      { requestId, seq: ++seq, ...frame } satisfies HttpBodyDeltaNotification,
    );
  try {
    for (;;) {
      if (queued === 0 && !ended) await dataReady.wait();
      if (signal.aborted) break;
      if (queued > 0) {
        if ((await unlessAborted(sink.whenWritable(), signal)) === "aborted") break;
        // Aborted while the wake-up was on its way (an http/cancel): its id may be reused already.
        if (signal.aborted) break;
        const frame = queue.length === 1 ? queue[0] : concat(queue);
        queue.length = 0;
        queued = 0;
        roomReady.wake();
        if (!send({ deltaBase64: frame.toBase64(), done: false, error: null })) {
          // The caller closes the exchange next, which ends a read still in flight.
          stop.abort("closed");
          return;
        }
        continue;
      }
      if (ended) break;
    }
    await reader;
    // Aborted for the connection: the client is gone, so no terminal frame.
    if (options.signal.aborted && options.signal.reason !== "timeout") return;
    const error = failed || signal.aborted ? BODY_DECODE_ERROR : null;
    send({ deltaBase64: "", done: true, error });
  } finally {
    roomReady.wake();
  }
}
