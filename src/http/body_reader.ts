/**
 * Response body framing (RFC 9112 §6.3): none, `content-length`, `chunked`, or until the connection closes.
 *
 * @module
 */
import type { BufferedConn } from "./buffered_conn.ts";
import { BodyError } from "./http_errors.ts";
import type { ResponseHead } from "./response_head.ts";

/** Pulls the body one piece at a time; nothing is read from the socket until `read()` is called. */
export interface BodyReader {
  /** The next non-empty piece of body (at most `max` bytes), or `null` at the end. Throws on a broken body. */
  read(max: number): Promise<Uint8Array | null>;
}

const MAX_LINE = 8 * 1024;
const MAX_TRAILERS = 100;

/** Picks the framing for `head`, answering a request made with `method`. */
export function bodyReaderFor(conn: BufferedConn, method: string, head: ResponseHead): BodyReader {
  const { status } = head;
  // Only the exact token `HEAD` is the HEAD method (methods are case-sensitive).
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return emptyBody();
  const te = head.raw.filter(([n]) => n === "transfer-encoding").map(([, v]) => v).join(",");
  const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
  if (codings.length > 0) {
    return codings.at(-1) === "chunked" ? chunkedBody(conn) : untilCloseBody(conn);
  }
  const lengths = new Set(
    head.raw.filter(([n]) => n === "content-length").flatMap(([, v]) => v.split(",").map((s) => s.trim())),
  );
  if (lengths.size > 1) throw new BodyError("conflicting content-length");
  if (lengths.size === 1) {
    const text = [...lengths][0];
    if (!/^\d{1,15}$/.test(text)) throw new BodyError("invalid content-length");
    return fixedBody(conn, Number(text));
  }
  return untilCloseBody(conn);
}

function emptyBody(): BodyReader {
  return { read: () => Promise.resolve(null) };
}

function fixedBody(conn: BufferedConn, length: number): BodyReader {
  let remaining = length;
  return {
    async read(max) {
      if (remaining === 0) return null;
      const piece = await conn.readSome(Math.min(max, remaining));
      if (piece === null) throw new BodyError("connection closed before the body was complete");
      remaining -= piece.length;
      return piece;
    },
  };
}

function untilCloseBody(conn: BufferedConn): BodyReader {
  return { read: (max) => conn.readSome(max) };
}

function chunkedBody(conn: BufferedConn): BodyReader {
  let remaining = 0; // bytes left in the current chunk
  let needCrlf = false; // a chunk's data ended and its CRLF is still to be read
  let done = false;
  return {
    async read(max) {
      if (done) return null;
      if (remaining === 0) {
        if (needCrlf && (await conn.readLine(MAX_LINE)) !== "") {
          throw new BodyError("invalid chunk terminator");
        }
        needCrlf = false;
        const line = await conn.readLine(MAX_LINE);
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(line);
        if (!size) throw new BodyError("invalid chunk size");
        remaining = parseInt(size[1], 16);
        if (remaining === 0) {
          // Trailers are read and ignored, up to the blank line that ends the message.
          for (let i = 0; (await conn.readLine(MAX_LINE)) !== ""; i++) {
            if (i >= MAX_TRAILERS) throw new BodyError("too many trailers");
          }
          done = true;
          return null;
        }
        needCrlf = true;
      }
      const piece = await conn.readSome(Math.min(max, remaining));
      if (piece === null) throw new BodyError("connection closed inside a chunk");
      remaining -= piece.length;
      return piece;
    },
  };
}
