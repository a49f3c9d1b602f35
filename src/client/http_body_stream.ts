/**
 * The body of a streamed `http/request`: `http/request/bodyDelta` frames checked for seq order and
 * turned into a `ReadableStream<Uint8Array>` with a bounded queue (Codex fails the stream rather than
 * buffering without limit).
 *
 * @module
 */
import type { HttpBodyDeltaNotification } from "../protocol/http.ts";
import { decodeBase64 } from "../util/base64.ts";
import { ExecServerClientError } from "./client_error.ts";

/** Frames the body may queue before the stream fails (Codex's channel capacity). */
export const DEFAULT_MAX_QUEUED_DELTAS = 256;

/** One streamed response body, fed by the client's notification router. */
export class HttpBodyStream {
  /** The request id used on the wire (`http-<n>`). */
  readonly requestId: string;
  /** The body bytes. Cancelling it stops routing deltas for this request. */
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #expectedSeq = 1;
  #done = false;
  readonly #release: () => void;
  readonly #onCancel: (() => void) | undefined;

  /**
   * `release` runs once when the body ends in any way; `onCancel` only when the consumer cancels it before
   * its end (the client then asks the server to stop the upstream with `http/cancel`).
   */
  constructor(
    requestId: string,
    release: () => void,
    maxQueuedDeltas = DEFAULT_MAX_QUEUED_DELTAS,
    onCancel?: () => void,
  ) {
    this.requestId = requestId;
    this.#release = release;
    this.#onCancel = onCancel;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        if (!this.#done) this.#onCancel?.();
        this.#end();
      },
    }, { highWaterMark: maxQueuedDeltas });
  }

  /** True once the body ended (EOF, error, or cancelled). */
  get done(): boolean {
    return this.#done;
  }

  /** Accepts one delta frame. */
  accept(delta: HttpBodyDeltaNotification): void {
    if (this.#done) return;
    if (delta.seq !== this.#expectedSeq) {
      this.fail(
        new ExecServerClientError(
          "http-stream",
          `http response stream \`${this.requestId}\` received seq ${delta.seq}, expected ${this.#expectedSeq}`,
        ),
      );
      return;
    }
    this.#expectedSeq++;
    if (delta.error !== null) {
      this.fail(
        new ExecServerClientError(
          "http-stream",
          `http response stream \`${this.requestId}\` failed: ${delta.error}`,
        ),
      );
      return;
    }
    if (delta.deltaBase64 !== "") {
      if ((this.#controller.desiredSize ?? 1) <= 0) {
        this.fail(new ExecServerClientError("http-stream", "body delta channel filled before delivery"));
        return;
      }
      this.#controller.enqueue(decodeBase64(delta.deltaBase64));
    }
    if (delta.done) {
      this.#controller.close();
      this.#end();
    }
  }

  /** Fails the body (transport disconnect, protocol error). */
  fail(error: ExecServerClientError): void {
    if (this.#done) return;
    this.#controller.error(error);
    this.#end();
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#release();
  }
}
