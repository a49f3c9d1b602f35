/**
 * A pull-based reader over one `Deno.Conn`: nothing is read from the socket until a caller asks, which is
 * what turns a slow consumer into TCP backpressure on the upstream server.
 *
 * @module
 */
import { AbortedError, type AbortReason, BodyError } from "./http_errors.ts";

/** Bytes requested from the socket per read. */
const READ_SIZE = 64 * 1024;

/** A connection with a small look-ahead buffer; `close()` is idempotent and fails pending reads. */
export class BufferedConn {
  #conn: Deno.Conn;
  #pending: Uint8Array = new Uint8Array(0);
  #eof = false;
  #closedBy: AbortReason | null = null;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes already read from the socket but not yet consumed. */
  get buffered(): number {
    return this.#pending.length;
  }

  /** Reads once more from the socket into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(READ_SIZE);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch (error) {
      if (this.#closedBy) throw new AbortedError(this.#closedBy);
      throw error;
    }
    // A read cut short by our own close() must not look like a clean end of a close-delimited body.
    if (this.#closedBy) throw new AbortedError(this.#closedBy);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    // A short read is copied out so a small piece does not pin a whole read buffer (buffered bodies keep them).
    const data = n < READ_SIZE / 2 ? chunk.slice(0, n) : chunk.subarray(0, n);
    this.#pending = this.#pending.length === 0 ? data : concat([this.#pending, data]);
    return true;
  }

  /** Takes up to `max` buffered bytes, reading from the socket first if none are buffered; `null` at EOF. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.#pending.length === 0 && !(await this.fill())) return null;
    return this.take(Math.min(max, this.#pending.length));
  }

  /** Takes `n` bytes that are known to be buffered. */
  take(n: number): Uint8Array {
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  /** The buffered bytes, without consuming them. */
  peek(): Uint8Array {
    return this.#pending;
  }

  /** Reads one LF-terminated line (CR stripped) of at most `max` bytes, as Latin-1 text. */
  async readLine(max: number): Promise<string> {
    for (;;) {
      const lf = this.#pending.indexOf(0x0a);
      if (lf >= 0) {
        const line = this.take(lf + 1);
        const end = line.length >= 2 && line[line.length - 2] === 0x0d ? line.length - 2 : line.length - 1;
        return latin1(line.subarray(0, end));
      }
      if (this.#pending.length > max) throw new BodyError("line too long");
      if (!(await this.fill())) throw new BodyError("unexpected end of stream");
    }
  }

  /** Writes all of `bytes`. */
  async writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
    } catch (error) {
      if (this.#closedBy) throw new AbortedError(this.#closedBy);
      throw error;
    }
  }

  /** Closes the socket; with a reason, pending and later reads fail with {@link AbortedError}. */
  close(reason?: AbortReason): void {
    if (reason && !this.#closedBy) this.#closedBy = reason;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or the runtime.
    }
  }
}

/** Decodes bytes one-to-one as Latin-1 (status lines, chunk sizes, framing headers). */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
