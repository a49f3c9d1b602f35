/**
 * `fs/readFile`: the whole file, or (extension) a byte range, as base64. The file is read from disk in
 * chunks whose size is a multiple of 3, so each chunk's base64 can be joined into one string without
 * holding the raw bytes of the whole file.
 *
 * @module
 */
import type { FsReadFileParams, FsReadFileResult } from "../protocol/fs.ts";
import { encodeBase64 } from "../util/base64.ts";
import { mapOsErrors } from "./os_error.ts";
import { parseAbsolutePath } from "./paths.ts";

/** Bytes per read: a multiple of 3 so chunk encodings concatenate into valid base64. */
const CHUNK_BYTES = 3 * 1024 * 1024;

/** Reads the whole file (symlinks followed), or `length` bytes from `offset` with `size` and `eof`. */
export async function readFile(params: FsReadFileParams): Promise<FsReadFileResult> {
  const path = parseAbsolutePath(params.path);
  return await mapOsErrors(async () => {
    using file = await Deno.open(path, { read: true });
    if (params.offset == null && params.length == null) {
      // Size the buffer from the file (small files are the common case); a file that grows is still read to EOF.
      const size = (await file.stat()).size;
      return { dataBase64: await readBase64(file, Infinity, undefined, size) };
    }
    const size = (await file.stat()).size;
    const offset = params.offset ?? 0;
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    const limit = params.length ?? Infinity;
    // A bounded range is read into one buffer and encoded once: less garbage than pieces plus a join.
    const bounded = Math.min(limit, Math.max(size - offset, 0));
    if (bounded <= MAX_SINGLE_RANGE) {
      const buffer = new Uint8Array(bounded);
      const read = await fill(file, buffer);
      return { dataBase64: encodeBase64(buffer.subarray(0, read)), size, eof: offset + read >= size };
    }
    let read = 0;
    const dataBase64 = await readBase64(file, limit, (n) => (read = n));
    return { dataBase64, size, eof: offset + read >= size };
  });
}

/** Ranges up to this size are read in one buffer. */
const MAX_SINGLE_RANGE = 16 * 1024 * 1024;

/** Reads until `buffer` is full or EOF; returns the bytes read. */
async function fill(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/** Reads up to `limit` bytes (to EOF when Infinity) and returns them base64-encoded. */
async function readBase64(
  file: Deno.FsFile,
  limit: number,
  onTotal?: (n: number) => void,
  sizeHint?: number,
): Promise<string> {
  // A multiple of 3 (so every full piece encodes without padding), just over the expected size.
  const expected = sizeHint === undefined ? CHUNK_BYTES : 3 * Math.ceil((sizeHint + 1) / 3);
  const buffer = new Uint8Array(
    Math.min(CHUNK_BYTES, expected, Number.isFinite(limit) ? Math.max(limit, 0) : CHUNK_BYTES),
  );
  const parts: string[] = [];
  let total = 0;
  while (total < limit && buffer.length > 0) {
    // Fill the buffer completely (reads may be short) so every chunk but the last is a multiple of 3.
    const want = Math.min(buffer.length, limit - total);
    const filled = await fill(file, buffer.subarray(0, want));
    if (filled > 0) parts.push(encodeBase64(buffer.subarray(0, filled)));
    total += filled;
    if (filled < want) break;
  }
  onTotal?.(total);
  return parts.length === 1 ? parts[0] : parts.join("");
}
