/**
 * Reading and parsing an HTTP/1.x response head into the wire shape: lower-case names in wire order with
 * duplicates kept, values that are not valid UTF-8 dropped.
 *
 * @module
 */
import type { HttpHeader } from "../protocol/http.ts";
import { type BufferedConn, latin1 } from "./buffered_conn.ts";
import { SendError } from "./http_errors.ts";

/** Largest response head accepted (hyper's default buffer limit is of the same order). */
const MAX_HEAD_BYTES = 256 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A parsed response head. */
export interface ResponseHead {
  /** `HTTP/1.0` or `HTTP/1.1`. */
  version: string;
  status: number;
  /** What the client sees (filtered). */
  headers: HttpHeader[];
  /** Framing-relevant headers as Latin-1 text, lower-case names, every occurrence (never filtered). */
  raw: [name: string, value: string][];
}

/** Index just past the blank line ending a head in `bytes`, or -1. Accepts CRLF and bare LF line endings. */
function headEnd(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

function trimOws(bytes: Uint8Array): Uint8Array {
  let start = 0;
  let end = bytes.length;
  while (start < end && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
  while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
  return bytes.subarray(start, end);
}

/** Parses one head (status line and header lines, without the blank line). */
export function parseResponseHead(bytes: Uint8Array): ResponseHead {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let lf = bytes.indexOf(0x0a); lf >= 0; lf = bytes.indexOf(0x0a, start)) {
    const end = lf > start && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
    lines.push(bytes.subarray(start, end));
    start = lf + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  while (lines.length > 0 && lines[lines.length - 1].length === 0) lines.pop();

  const statusLine = /^(HTTP\/1\.[01]) (\d{3})(?: .*)?$/.exec(latin1(lines[0] ?? new Uint8Array(0)));
  if (!statusLine) throw new SendError("invalid HTTP version parsed");
  const headers: HttpHeader[] = [];
  const raw: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line[0] === 0x20 || line[0] === 0x09) throw new SendError("invalid header (obsolete line folding)");
    const colon = line.indexOf(0x3a);
    const name = colon > 0 ? latin1(line.subarray(0, colon)) : "";
    if (!TOKEN.test(name)) throw new SendError("invalid header name parsed");
    const valueBytes = trimOws(line.subarray(colon + 1));
    const lower = name.toLowerCase();
    raw.push([lower, latin1(valueBytes)]);
    try {
      headers.push({ name: lower, value: utf8.decode(valueBytes) });
    } catch {
      // Not valid UTF-8 (for example Latin-1 `caf\xe9`): dropped, as the reference does.
    }
  }
  return { version: statusLine[1], status: Number(statusLine[2]), headers, raw };
}

/** Reads the next response head; interim 1xx responses (except 101) are skipped. */
export async function readResponseHead(conn: BufferedConn): Promise<ResponseHead> {
  for (;;) {
    let end = headEnd(conn.peek());
    while (end < 0) {
      if (conn.buffered > MAX_HEAD_BYTES) throw new SendError("message head is too large");
      if (!(await conn.fill())) {
        throw new SendError(
          conn.buffered === 0 ? "connection closed before message completed" : "incomplete message head",
        );
      }
      end = headEnd(conn.peek());
    }
    const head = parseResponseHead(conn.take(end));
    if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
    return head;
  }
}
