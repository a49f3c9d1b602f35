/**
 * `fs/readFile`: the whole file, or (extension) a byte range, as base64. The file is read from disk in
 * chunks whose size is a multiple of 3, so each chunk's base64 is a valid piece of the whole without
 * holding the raw bytes of the whole file; the server writes the pieces without joining them.
 *
 * @module
 */
import type { FsReadFileParams, FsReadFileResult } from "../protocol/fs.ts";
import { RpcError } from "../protocol/errors.ts";
import { encodeBase64 } from "../util/base64.ts";
import { mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";

/** Bytes per read: a multiple of 3 so chunk encodings concatenate into valid base64. */
const CHUNK_BYTES = 3 * 1024 * 1024;

/** `fs/readFile` with the base64 payload still in pieces, as {@link readFileParts} returns it. */
export interface ReadFileParts {
  /** Base64 pieces that concatenate to the payload (every piece but the last is a multiple of 4 long). */
  parts: string[];
  size?: number;
  eof?: boolean;
}

/** Reads the whole file (symlinks followed), or `length` bytes from `offset` with `size` and `eof`. */
export async function readFile(params: FsReadFileParams): Promise<FsReadFileResult> {
  const { parts, ...rest } = await readFileParts(params);
  return { dataBase64: parts.length === 1 ? parts[0] : parts.join(""), ...rest };
}

/**
 * {@link readFile} without joining the base64 pieces: the server writes them to the wire one after the
 * other, so a 50 MB file never exists as one 67 MB string.
 */
export async function readFileParts(params: FsReadFileParams): Promise<ReadFileParts> {
  const path = parseAbsolutePath(params.path);
  if (params.offset == null && params.length == null) {
    const small = readSmallFile(path);
    if (small !== null) return { parts: [small] };
  }
  return await mapOsErrors(async () => {
    // Opening a FIFO would wait for a writer, a device could stream forever: only regular files are read.
    await requireRegularFile(path);
    using file = await Deno.open(path, { read: true });
    if (params.offset == null && params.length == null) {
      // Size the buffer from the file (small files are the common case); a file that grows is still read to EOF.
      const size = (await file.stat()).size;
      return { parts: await readBase64(file, Infinity, undefined, size) };
    }
    const size = (await file.stat()).size;
    const offset = params.offset ?? 0;
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    const limit = params.length ?? Infinity;
    let read = 0;
    const parts = await readBase64(file, limit, (n) => (read = n), Math.max(size - offset, 0));
    return { parts, size, eof: offset + read >= size };
  });
}

/**
 * Throws the reference's -32600 ``path `<path>` is not a file`` unless `path` (symlinks followed) is a
 * regular file; a missing path throws the OS error.
 */
export async function requireRegularFile(path: string): Promise<void> {
  const info = await Deno.stat(path);
  if (info.isFile) return;
  // The sandbox masks a denied file with /dev/null on a nodev mount: opening it says "Permission
  // denied", which is the answer that explains it. /dev/null itself opens (then is not a file).
  if (info.isCharDevice && info.rdev === DEV_NULL_RDEV) Deno.openSync(path, { read: true }).close();
  throw notAFile(path);
}

/** makedev(1, 3): /dev/null. */
const DEV_NULL_RDEV = 259;

/** The reference's error for a directory, FIFO, socket or device where a regular file is needed. */
export function notAFile(path: string): RpcError {
  return RpcError.invalidRequest(`path \`${path}\` is not a file`);
}

/** Regular files up to this size are read synchronously (see {@link readSmallFile}). */
const SMALL_FILE_BYTES = 64 * 1024;

/**
 * A small regular file read with synchronous calls: from the page cache that takes microseconds, while
 * the async path pays four thread-pool round trips (open, stat, read, read-to-EOF) per file. Returns null
 * (use the async path, which also produces the exact error) for anything else or on any error.
 */
function readSmallFile(path: string): string | null {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile || info.size > SMALL_FILE_BYTES) return null;
    return encodeBase64(Deno.readFileSync(path));
  } catch {
    return null;
  }
}

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

/**
 * Reads up to `limit` bytes (to EOF when Infinity) as base64 pieces. Two buffers alternate so the next
 * read runs on the I/O thread while this one is encoded: reading and encoding 50 MB each take ~35 ms here.
 */
async function readBase64(
  file: Deno.FsFile,
  limit: number,
  onTotal?: (n: number) => void,
  sizeHint?: number,
): Promise<string[]> {
  // A multiple of 3 (so every full piece encodes without padding), just over the expected size.
  const expected = sizeHint === undefined ? CHUNK_BYTES : 3 * Math.ceil((sizeHint + 1) / 3);
  const size = Math.min(CHUNK_BYTES, expected, Number.isFinite(limit) ? Math.max(limit, 0) : CHUNK_BYTES);
  const parts: string[] = [];
  if (size === 0) {
    onTotal?.(0);
    return parts;
  }
  let current = new Uint8Array(size);
  let spare: Uint8Array<ArrayBuffer> | null = null;
  let total = 0;
  // Fill each buffer completely (reads may be short) so every piece but the last is a multiple of 3.
  let want = Math.min(size, limit - total);
  let pending = fill(file, current.subarray(0, want));
  for (;;) {
    const filled = await pending;
    total += filled;
    const more = filled === want && total < limit;
    const full = current;
    if (more) {
      current = spare ?? new Uint8Array(size);
      spare = full;
      want = Math.min(size, limit - total);
      pending = fill(file, current.subarray(0, want));
    }
    if (filled > 0) parts.push(encodeBase64(full.subarray(0, filled)));
    if (!more) break;
  }
  onTotal?.(total);
  return parts;
}
