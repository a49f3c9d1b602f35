/**
 * A `fetch` whose every exchange is a streamed `http/request` on an exec-server, so HTTP clients (the
 * MCP SDK's Streamable HTTP transport) reach hosts as the executor sees them. The response resolves at
 * the headers; its body is the `http/request/bodyDelta` stream, so Server-Sent Events flow as they arrive.
 *
 * @module
 */
import type { FetchLike } from "./mcp_sdk.ts";
import { encodeBase64 } from "../util/base64.ts";
import { clientOf, type ExecutorSource } from "./executor_source.ts";

/** Options of {@link createExecutorFetch}. */
export interface ExecutorFetchOptions {
  /** `http/request.timeoutMs`: a total deadline including the body (default none: SSE streams are long-lived). */
  timeoutMs?: number;
}

/** The Fetch standard's redirect statuses. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Statuses whose `Response` must have a null body (the Fetch standard's null body statuses). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Creates a `fetch` that sends every request through `source` with `http/request` (`streamResponse: true`,
 * as Codex does for MCP). `init.redirect` is honoured as fetch does: `follow` (the default) lets the
 * executor follow redirects; `manual` sends `redirectPolicy: "stop"` and returns the 3xx response itself
 * (status, `location`, body), which is how the MCP SDK's default `same-origin` redirect policy inspects every
 * hop before following it; `error` also stops, then rejects with a `TypeError` for a redirect.
 * (Servers older than Codex 0.171 ignore `redirectPolicy` and always follow.) `init.signal` aborts a pending
 * request and cancels a body being read.
 */
export function createExecutorFetch(source: ExecutorSource, options: ExecutorFetchOptions = {}): FetchLike {
  return async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const headers = [...new Headers(init.headers)].map(([name, value]) => ({ name, value }));
    // Any BodyInit (string, bytes, stream, form) becomes bytes the way fetch itself would encode it.
    const body = init.body == null ? null : new Uint8Array(await new Response(init.body).arrayBuffer());
    const redirect = init.redirect ?? "follow";
    const client = await clientOf(source);
    const pending = client.httpStream({
      method: init.method ?? "GET",
      url: input instanceof URL ? input.href : input,
      headers,
      bodyBase64: body === null ? undefined : encodeBase64(body),
      timeoutMs: options.timeoutMs,
      ...(redirect === "follow" ? {} : { redirectPolicy: "stop" as const }),
    });
    const response = await untilAborted(pending, signal, (late) => late.body.cancel().catch(() => {}));
    if (redirect === "error" && REDIRECT_STATUSES.has(response.status)) {
      await response.body.cancel().catch(() => {});
      throw new TypeError(`fetch failed: redirect (${response.status}) with redirect mode "error"`);
    }
    const responseHeaders = new Headers();
    for (const { name, value } of response.headers) {
      try {
        responseHeaders.append(name, value);
      } catch {
        // A header value fetch cannot represent: drop it, as the server drops non-ASCII ones.
      }
    }
    if (NULL_BODY_STATUSES.has(response.status)) {
      await response.body.cancel().catch(() => {});
      return new Response(null, { status: response.status, headers: responseHeaders });
    }
    return new Response(abortable(response.body, signal), {
      status: response.status,
      headers: responseHeaders,
    });
  };
}

/** Resolves like `promise`, or rejects with the abort reason first; a late result goes to `onLate`. */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onLate: (value: T) => void,
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      promise.then(onLate, () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** `body`, cancelled (and errored with the abort reason) when `signal` aborts. */
function abortable(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  if (!signal) return body;
  const reader = body.getReader();
  let onAbort: (() => void) | null = null;
  const release = () => {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    onAbort = null;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      onAbort = () => {
        release();
        reader.cancel(signal.reason).catch(() => {});
        controller.error(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
