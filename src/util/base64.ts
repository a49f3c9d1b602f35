/**
 * Strict standard base64 (RFC 4648 §4, `+/`, canonical `=` padding), as the Rust `base64` crate's
 * `STANDARD` engine decodes it: no whitespace, no URL-safe alphabet, no missing or extra padding, no
 * non-zero trailing bits. Valid input takes the fast native path (`Uint8Array.fromBase64`); only invalid
 * input is scanned byte by byte, to produce the crate's exact error text.
 *
 * @module
 */

// Native TC39 base64 (present in Deno 2.9) is not yet in the TypeScript lib typings.
const NativeU8 = Uint8Array as unknown as {
  fromBase64(
    s: string,
    options?: { lastChunkHandling?: "loose" | "strict" | "stop-before-partial" },
  ): Uint8Array;
};
type SetFromBase64 = (
  this: Uint8Array,
  s: string,
  options?: { lastChunkHandling?: "loose" | "strict" | "stop-before-partial" },
) => { read: number; written: number };
const setFromBase64 = (Uint8Array.prototype as unknown as { setFromBase64: SetFromBase64 }).setFromBase64;

/** Invalid base64; the message is the Rust `base64::DecodeError` display text (`Invalid symbol 33, offset 0.`). */
export class Base64DecodeError extends Error {
  override name = "Base64DecodeError";
}

const PAD = 61; // "="

function isAlphabet(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

function symbolValue(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  return c === 43 ? 62 : 63;
}

/**
 * The Rust crate's error text for `input`, or `null` when it is valid. Valid input is checked with a
 * regex and the native decoder; invalid input is re-scanned as UTF-8 bytes, as the crate sees it.
 */
export function base64Error(input: string): string | null {
  if (input.length === 0 || nativelyValid(input)) return null;
  return scanError(new TextEncoder().encode(input));
}

/** Decoded length of canonical base64 of this many characters (a multiple of 4) and padding. */
function canonicalLength(input: string): number {
  const padding = input.endsWith("==") ? 2 : input.endsWith("=") ? 1 : 0;
  return (input.length / 4) * 3 - padding;
}

/**
 * Validates with the native decoder, piece by piece into a scratch buffer (no regex over the payload).
 * The native decoder skips whitespace and accepts padding at a piece's end, so anything it tolerates
 * that the Rust crate does not shows up as a decoded length different from the canonical one.
 */
function nativelyValid(input: string): boolean {
  if (input.length % 4 !== 0) return false;
  const step = 4 * 1024 * 1024;
  const scratch = new Uint8Array((Math.min(step, input.length) / 4) * 3);
  let written = 0;
  try {
    for (let i = 0; i < input.length; i += step) {
      const piece = input.slice(i, i + step);
      const result = setFromBase64.call(scratch, piece, { lastChunkHandling: "strict" });
      if (result.read !== piece.length) return false;
      written += result.written;
    }
  } catch {
    return false;
  }
  return written === canonicalLength(input);
}

/** Mirrors `base64::engine::general_purpose::decode_helper` with canonical padding and no trailing bits. */
function scanError(input: Uint8Array): string | null {
  const len = input.length;
  const rem = len % 4;
  // The crate reports an invalid trailing byte (like a newline) first, as a convenience.
  if (rem === 1) {
    const last = input[len - 1];
    if (last !== PAD && !isAlphabet(last)) return `Invalid symbol ${last}, offset ${len - 1}.`;
  }
  // Complete quads before the suffix: any non-alphabet byte (including "=") is invalid.
  const suffixStart = rem > 0 ? len - rem : Math.max(0, len - 4);
  for (let i = 0; i < suffixStart; i++) {
    if (!isAlphabet(input[i])) return `Invalid symbol ${input[i]}, offset ${i}.`;
  }
  // The suffix (at most 4 bytes), as the crate's `decode_suffix` checks it.
  let morsels = 0;
  let padding = 0;
  let firstPad = -1;
  let lastSymbol = 0;
  for (let i = suffixStart; i < len; i++) {
    const c = input[i];
    if (c === PAD) {
      if (i - suffixStart < 2) return `Invalid symbol ${c}, offset ${i}.`;
      if (padding === 0) firstPad = i;
      padding++;
      continue;
    }
    if (padding > 0) return `Invalid symbol ${PAD}, offset ${firstPad}.`;
    if (!isAlphabet(c)) return `Invalid symbol ${c}, offset ${i}.`;
    lastSymbol = c;
    morsels++;
  }
  if (len > 0 && morsels < 2) return `Invalid input length: ${suffixStart + morsels}`;
  if ((padding + morsels) % 4 !== 0) return "Invalid padding";
  const spareBits = (morsels * 6) % 8; // 2 symbols -> 4 unused bits, 3 -> 2
  if (spareBits > 0 && (symbolValue(lastSymbol) & ((1 << spareBits) - 1)) !== 0) {
    return `Invalid last symbol ${lastSymbol}, offset ${suffixStart + morsels - 1}.`;
  }
  return null;
}

/** Decodes strict standard base64; throws {@link Base64DecodeError} with the Rust crate's message. */
export function decodeBase64(input: string): Uint8Array {
  // Valid input (the common case) is decoded exactly once; only a failure pays for the exact scan.
  if (input.length % 4 === 0) {
    try {
      const bytes = NativeU8.fromBase64(input, { lastChunkHandling: "strict" });
      if (bytes.length === canonicalLength(input)) return bytes;
    } catch {
      // fall through to the exact error text
    }
  }
  const error = base64Error(input) ?? "Invalid padding";
  throw new Base64DecodeError(error);
}

/**
 * Decodes already-validated base64 piece by piece (each piece a multiple of 4 characters) into `buffers`
 * reused buffers, taken in turn, so a large payload is never held decoded all at once. A yielded view is
 * valid until `buffers` more have been yielded (with 2, a caller can write one piece while the next is
 * decoded). Call {@link base64Error} first.
 */
export function* decodeBase64Chunks(
  input: string,
  charsPerChunk = 4 * 1024 * 1024,
  buffers = 1,
): Generator<Uint8Array> {
  const step = Math.max(4, charsPerChunk - (charsPerChunk % 4));
  const size = Math.min(step, input.length) / 4 * 3;
  const pool: Uint8Array[] = [];
  for (let i = 0, n = 0; i < input.length; i += step, n++) {
    const buffer = pool[n % buffers] ??= new Uint8Array(size);
    const { written } = setFromBase64.call(buffer, input.slice(i, i + step));
    yield buffer.subarray(0, written);
  }
}

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return (bytes as unknown as { toBase64(): string }).toBase64();
}
