/**
 * One HTTP/1.1 request/response exchange on a fresh connection (no pooling).
 *
 * Hand-rolled on `Deno.connect`/`Deno.connectTls` rather than `node:http` or `fetch` because the wire
 * contract needs what neither gives: the method sent exactly as given (node upper-cases it, fetch
 * normalises standard ones), response header bytes in wire order with duplicates (fetch merges them), and
 * a body pulled from the socket only on demand (so backpressure reaches the upstream server).
 *
 * @module
 */
import { BufferedConn } from "./buffered_conn.ts";
import { type BodyReader, bodyReaderFor } from "./body_reader.ts";
import { AbortedError, type AbortReason, describeIoError, SendError } from "./http_errors.ts";
import type { OutboundRequest } from "./request_validation.ts";
import { readResponseHead, type ResponseHead } from "./response_head.ts";
import { effectivePort } from "./allow_hosts.ts";

/** A response whose head has arrived; the body is read through `body`, and `close()` must be called. */
export interface Exchange {
  head: ResponseHead;
  body: BodyReader;
  /** Closes the connection (idempotent). */
  close(): void;
}

const encoder = new TextEncoder();

/** The request line and headers: `host` (unless given), the caller's headers, then defaults. */
function serializeHead(request: OutboundRequest): Uint8Array {
  const { method, url, headers, body } = request;
  const target = `${url.pathname}${url.search}`;
  const lines = [`${method} ${target} HTTP/1.1`];
  const has = (name: string) => headers.some(([n]) => n === name);
  if (!has("host")) lines.push(`host: ${url.host}`);
  for (const [name, value] of headers) {
    // The body length is ours to state: a caller's value could desynchronise the framing.
    if (name === "content-length") continue;
    lines.push(`${name}: ${value}`);
  }
  if (!has("accept")) lines.push("accept: */*");
  if (body !== null) lines.push(`content-length: ${body.length}`);
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
}

/** Why `signal` aborted: the handler aborts with `"timeout"` for deadlines; anything else means closed. */
function abortReason(signal: AbortSignal): AbortReason {
  return signal.reason === "timeout" ? "timeout" : "closed";
}

async function connect(url: URL, signal: AbortSignal): Promise<Deno.Conn> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = effectivePort(url);
  const pending = url.protocol === "https:"
    ? Deno.connectTls({ hostname, port })
    : Deno.connect({ hostname, port });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortedError(abortReason(signal)));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, aborted]);
  } catch (error) {
    // A connect that completes after the abort must not leak its socket.
    pending.then((conn) => conn.close(), () => {});
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

/**
 * Connects, sends `request` and reads the response head. Aborting `signal` (reason `"timeout"` or anything
 * else for "closed") closes the socket at any point, including later while the body is read.
 * Failures before the head throw {@link SendError} or {@link AbortedError}.
 */
export async function openExchange(request: OutboundRequest, signal: AbortSignal): Promise<Exchange> {
  if (signal.aborted) throw new AbortedError(abortReason(signal));
  let conn: BufferedConn;
  try {
    conn = new BufferedConn(await connect(request.url, signal));
  } catch (error) {
    if (error instanceof AbortedError) throw error;
    throw new SendError(describeIoError(error), { cause: error });
  }
  const onAbort = () => conn.close(abortReason(signal));
  signal.addEventListener("abort", onAbort, { once: true });
  const close = () => {
    signal.removeEventListener("abort", onAbort);
    conn.close();
  };
  try {
    await conn.writeAll(serializeHead(request));
    if (request.body !== null && request.body.length > 0) await conn.writeAll(request.body);
    const head = await readResponseHead(conn);
    return { head, body: bodyReaderFor(conn, request.method, head), close };
  } catch (error) {
    close();
    if (error instanceof AbortedError || error instanceof SendError) throw error;
    throw new SendError(describeIoError(error), { cause: error });
  }
}
