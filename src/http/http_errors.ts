/**
 * The `http/request` error texts (Codex 0.140.0 wording where it has one) and the upstream failure types.
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";

/** Terminal `bodyDelta` error, and the tail of the buffered-mode body error (reqwest's wording). */
export const BODY_DECODE_ERROR = "error decoding response body";

/** `-32600`: the server was started with http/request disabled. */
export function httpDisabledError(): RpcError {
  return new RpcError(ErrorCode.InvalidRequest, "http/request is disabled on this server");
}

/** `-32600`: the target host is not on the server's allow-list. */
export function hostNotAllowedError(hostPort: string): RpcError {
  return new RpcError(
    ErrorCode.InvalidRequest,
    `http/request host \`${hostPort}\` is not allowed on this server`,
  );
}

/** `-32602`: a streaming request reused the id of a stream that has not finished. */
export function duplicateStreamError(requestId: string): RpcError {
  return RpcError.invalidParams(`http/request streamResponse requestId \`${requestId}\` is already active`);
}

/**
 * `-32603`: nothing usable came back before the headers (connect, DNS, timeout, malformed response).
 * The reference stops at `(<url>)`; the reason is appended to make the failure actionable.
 */
export function sendFailedError(url: URL, reason: string, cause?: unknown): RpcError {
  return RpcError.internal(
    `http/request failed: error sending request for url (${url.href}): ${reason}`,
    cause,
  );
}

/** `-32603`: redirect policy failure (too many hops, bad scheme), in reqwest's wording. */
export function redirectFailedError(url: URL, reason: string): RpcError {
  return RpcError.internal(`http/request failed: error following redirect for url (${url.href}): ${reason}`);
}

/** `-32603`: the buffered body could not be read to the end. */
export function bodyReadError(cause?: unknown): RpcError {
  return RpcError.internal(`failed to read http/request response body: ${BODY_DECODE_ERROR}`, cause);
}

/** Upstream failed before a response head was read; `reason` is a short lower-case text. */
export class SendError extends Error {
  override name = "SendError";
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

/** Upstream failed while the body was being read (reset, truncation, bad framing, abort). */
export class BodyError extends Error {
  override name = "BodyError";
}

/** The exchange was aborted locally (deadline or connection closed); `reason` says which. */
export class AbortedError extends Error {
  override name = "AbortedError";
  constructor(readonly reason: AbortReason) {
    super(reason === "timeout" ? "operation timed out" : "connection closed");
  }
}

/** Why an in-flight request was aborted: its deadline passed, or the client connection went away. */
export type AbortReason = "timeout" | "closed";

/** Turns an OS/Deno connect or I/O error into a short reason such as `connection refused`. */
export function describeIoError(error: unknown): string {
  if (error instanceof AbortedError) return error.message;
  if (error instanceof SendError) return error.reason;
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return "operation timed out";
  const message = error instanceof Error ? error.message : String(error);
  if (/lookup address|name or service|nodename nor servname|no address associated/i.test(message)) {
    return `dns error: ${message.replace(/^failed to lookup address information: /, "")}`;
  }
  return message.replace(/\s*\(os error \d+\)$/, "").replace(/^./, (c) => c.toLowerCase());
}
