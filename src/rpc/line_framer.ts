/**
 * Newline-delimited framing with a size cap. Splits a byte stream into UTF-8 lines, strips a trailing
 * `\r`, skips blank lines, and survives an oversized line by discarding it up to the next newline (so
 * one bad message costs one error, not the connection).
 *
 * @module
 */

/** Callbacks for {@link LineFramer}. */
export interface LineFramerHandlers {
  onLine(line: string): void;
  onFramingError(reason: string, prefix: string): void;
}

const NEWLINE = 0x0a;
const PREFIX_BYTES = 512;

/** Incremental NDJSON framer: feed it chunks with {@link LineFramer.push}. */
export class LineFramer {
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;
  #discarding = false;
  #discardPrefix = "";
  #discardedBytes = 0;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  readonly #lenientDecoder = new TextDecoder("utf-8");
  readonly #maxBytes: number;
  readonly #handlers: LineFramerHandlers;

  constructor(maxBytes: number, handlers: LineFramerHandlers) {
    this.#maxBytes = maxBytes;
    this.#handlers = handlers;
  }

  /**
   * Feeds one chunk; emits every complete line in it. Takes ownership of `chunk`: pieces of it may be
   * kept until their line completes, so the caller must not reuse it (Deno's readers hand out fresh
   * buffers; copying each 64 KiB read cost ~30 ms per 50 MB message).
   */
  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.#finishLine();
      start = newline + 1;
    }
  }

  /** Flushes a final line that had no trailing newline (at EOF). */
  end(): void {
    if (this.#pieceBytes > 0 || this.#discarding) this.#finishLine();
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#discarding) {
      this.#discardedBytes += bytes.length;
      return;
    }
    if (this.#pieceBytes + bytes.length > this.#maxBytes) {
      // Too large: keep a prefix (to recover the id) and drop the rest of this line.
      this.#pieces.push(bytes);
      const head = concat(this.#pieces, Math.min(PREFIX_BYTES, this.#pieceBytes + bytes.length));
      this.#discardPrefix = new TextDecoder().decode(head);
      this.#discardedBytes = this.#pieceBytes + bytes.length;
      this.#discarding = true;
      this.#pieces = [];
      this.#pieceBytes = 0;
      return;
    }
    this.#pieces.push(bytes);
    this.#pieceBytes += bytes.length;
  }

  #finishLine(): void {
    if (this.#discarding) {
      const size = this.#discardedBytes;
      const prefix = this.#discardPrefix;
      this.#discarding = false;
      this.#discardPrefix = "";
      this.#discardedBytes = 0;
      this.#handlers.onFramingError(
        `message of at least ${size} bytes exceeds the maximum message size of ${this.#maxBytes} bytes`,
        prefix,
      );
      return;
    }
    let bytes = this.#pieces.length === 1 ? this.#pieces[0] : concat(this.#pieces, this.#pieceBytes);
    this.#pieces = [];
    this.#pieceBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (isBlank(bytes)) return;
    let line: string;
    try {
      // The replacing decoder is ~4x faster than the fatal one (150 ms vs 40 ms for a 67 MB line). A
      // U+FFFD in its output means invalid input or a literal U+FFFD: only then ask the fatal decoder.
      line = this.#lenientDecoder.decode(bytes);
      if (line.includes("\uFFFD")) this.#decoder.decode(bytes);
    } catch {
      this.#handlers.onFramingError(
        "message is not valid UTF-8",
        new TextDecoder().decode(bytes.subarray(0, PREFIX_BYTES)),
      );
      return;
    }
    this.#handlers.onLine(line);
  }
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  return true;
}

function concat(pieces: Uint8Array[], limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let offset = 0;
  for (const piece of pieces) {
    if (offset >= limit) break;
    const take = Math.min(piece.length, limit - offset);
    out.set(piece.subarray(0, take), offset);
    offset += take;
  }
  return out;
}
