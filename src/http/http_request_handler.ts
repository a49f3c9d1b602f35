/**
 * The `http/request` handler: one instance per client connection, owning that connection's in-flight
 * requests and active stream ids.
 *
 * ## Response-then-frames hook (the dispatcher must wire this)
 *
 * `handle()` resolves to an {@link HttpRequestOutcome}: `{ result, afterResponse? }`. For a streaming
 * request `afterResponse` is always set, and no `bodyDelta` frame is produced until it is called. The
 * dispatcher must:
 *   1. queue the JSON-RPC response carrying `result` on the connection's outbound FIFO, then
 *   2. call `afterResponse()` (synchronously after queueing is fine; calling it twice is harmless).
 * That is what guarantees every frame follows the response on the wire. If the response cannot be sent
 * because the connection is gone, ctx.signal (or {@link HttpRequestHandler.close}) takes care of cleanup;
 * calling `afterResponse()` anyway is also safe (the stream then ends at once without frames).
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { HttpRedirectPolicy, HttpRequestParams, HttpRequestResult } from "../protocol/http.ts";
import type { HandlerContext } from "../rpc/handler_context.ts";
import { compileAllowHosts, type HostPolicy } from "./allow_hosts.ts";
import type { BodyReader } from "./body_reader.ts";
import { streamBody } from "./body_stream.ts";
import { concat } from "./buffered_conn.ts";
import { type Exchange, openExchange } from "./http1_exchange.ts";
import {
  AbortedError,
  bodyReadError,
  describeIoError,
  duplicateStreamError,
  hostNotAllowedError,
  httpDisabledError,
  redirectFailedError,
  sendFailedError,
} from "./http_errors.ts";
import type { HttpOptions } from "./http_options.ts";
import { decideRedirect } from "./redirect_policy.ts";
import { type OutboundRequest, validateHttpRequest } from "./request_validation.ts";
import { MAX_TIMER_MS } from "../util/timers.ts";

/** What `handle()` produces: the response, plus the hook that starts body frames once it is queued. */
export interface HttpRequestOutcome {
  /** The JSON-RPC result (`bodyBase64` is `""` when streaming). */
  result: HttpRequestResult;
  /**
   * Streaming only: call right after the response has been queued; `bodyDelta` frames start then.
   * Idempotent.
   */
  afterResponse?: () => void;
}

/** The per-connection `http/request` handler. */
export interface HttpRequestHandler {
  /** Runs one `http/request`; throws {@link RpcError} with the wire code and message on failure. */
  handle(params: HttpRequestParams, ctx: HandlerContext): Promise<HttpRequestOutcome>;
  /**
   * Aborts every in-flight request and stream of this connection (no further frames) and refuses new
   * ones. Call when the connection closes; aborting each request's `ctx.signal` has the same effect.
   */
  close(): void;
  /**
   * `http/cancel`: aborts the streamed request `requestId` (its upstream connection closes, no further
   * frame is sent, the id is released). False when no stream of that id is active.
   */
  cancel(requestId: string): boolean;
  /** Streaming request ids whose stream has not finished (for diagnostics and tests). */
  readonly activeStreamIds: ReadonlySet<string>;
}

/** Read size for buffered bodies. */
const BUFFERED_READ_BYTES = 1024 * 1024;

function hostLabel(url: URL): string {
  return url.port ? `${url.hostname}:${url.port}` : url.hostname;
}

function checkHost(policy: HostPolicy, url: URL): void {
  if (!policy(url)) throw hostNotAllowedError(hostLabel(url));
}

/**
 * Sends `request`; with `redirects` `follow`, follows redirects, every hop checked against the allow-list.
 * With `stop` the first response, a 3xx included, is the answer.
 */
async function sendFollowingRedirects(
  request: OutboundRequest,
  policy: HostPolicy,
  redirects: HttpRedirectPolicy,
  signal: AbortSignal,
): Promise<Exchange> {
  for (let hops = 0;; hops++) {
    checkHost(policy, request.url);
    let exchange: Exchange;
    try {
      exchange = await openExchange(request, signal);
    } catch (error) {
      if (error instanceof AbortedError && error.reason === "closed") {
        const why = signal.reason === "cancelled"
          ? "cancelled by http/cancel"
          : "the client connection closed";
        throw RpcError.internal(`http/request failed: ${why}`, error);
      }
      throw sendFailedError(request.url, describeIoError(error), error);
    }
    if (redirects === "stop") return exchange;
    const decision = decideRedirect(request, exchange.head, hops);
    if (decision.kind === "final") return exchange;
    exchange.close();
    if (decision.kind === "error") throw redirectFailedError(request.url, decision.reason);
    request = decision.next;
  }
}

async function readWholeBody(body: BodyReader): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  // Bounded by the body itself: every read either returns bytes, returns null at the end, or throws.
  for (;;) {
    const piece = await body.read(BUFFERED_READ_BYTES);
    if (piece === null) return concat(parts);
    parts.push(piece);
  }
}

/**
 * Creates the `http/request` handler for one client connection. Throws a `TypeError` at once for an
 * allow-list entry that does not parse.
 */
export function createHttpRequestHandler(options: HttpOptions = {}): HttpRequestHandler {
  const policy = compileAllowHosts(options.allowHosts);
  /** The active streams (id reserved until the terminal frame) and their controllers, for `http/cancel`. */
  const streams = new Map<string, AbortController>();
  const inFlight = new Set<AbortController>();
  let closed = false;

  async function handle(params: HttpRequestParams, ctx: HandlerContext): Promise<HttpRequestOutcome> {
    if (options.disabled) throw httpDisabledError();
    const request = validateHttpRequest(params, options.env);
    checkHost(policy, request.url);
    const streaming = params.streamResponse === true;
    const { requestId } = params;
    // Reserved before anything is sent (just below); released after the terminal frame or on failure.
    if (streaming && streams.has(requestId)) throw duplicateStreamError(requestId);

    // One controller per request: reason "timeout" for the deadline, "closed" for the connection,
    // "cancelled" for http/cancel.
    const controller = new AbortController();
    inFlight.add(controller);
    if (streaming) streams.set(requestId, controller);
    const onClientGone = () => controller.abort("closed");
    ctx.signal.addEventListener("abort", onClientGone, { once: true });
    if (closed || ctx.signal.aborted) controller.abort("closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const { timeoutMs } = params;
    if (timeoutMs === 0) controller.abort("timeout");
    // A deadline setTimeout cannot express (about 24 days or more) is treated as none.
    else if (timeoutMs !== undefined && timeoutMs !== null && timeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => controller.abort("timeout"), timeoutMs);
    }

    let exchange: Exchange | undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onClientGone);
      inFlight.delete(controller);
      exchange?.close();
      // After an http/cancel the id may already belong to a newer stream.
      if (streaming && streams.get(requestId) === controller) streams.delete(requestId);
    };

    try {
      exchange = await sendFollowingRedirects(
        request,
        policy,
        params.redirectPolicy ?? "follow",
        controller.signal,
      );
    } catch (error) {
      release();
      throw error;
    }
    const { status, headers } = exchange.head;

    if (!streaming) {
      try {
        const body = await readWholeBody(exchange.body);
        return { result: { status, headers, bodyBase64: body.toBase64() } };
      } catch (error) {
        throw bodyReadError(error);
      } finally {
        release();
      }
    }

    let started = false;
    // The connection may go away between the response and afterResponse(): then nothing will stream.
    const releaseIfUnstarted = () => {
      if (!started && controller.signal.reason !== "timeout") release();
    };
    if (controller.signal.aborted) releaseIfUnstarted();
    else controller.signal.addEventListener("abort", releaseIfUnstarted, { once: true });
    const body = exchange.body;
    const afterResponse = () => {
      if (started || released) return;
      started = true;
      streamBody({ requestId, body, sink: ctx.notifications, signal: controller.signal }).finally(release);
    };
    return { result: { status, headers, bodyBase64: "" }, afterResponse };
  }

  return {
    handle,
    close() {
      closed = true;
      for (const controller of inFlight) controller.abort("closed");
    },
    cancel(requestId) {
      const controller = streams.get(requestId);
      if (!controller) return false;
      // The abort closes the socket; the stream (or the pending send) then releases the id.
      streams.delete(requestId);
      controller.abort("cancelled");
      return true;
    },
    get activeStreamIds() {
      return new Set(streams.keys());
    },
  };
}
