/**
 * `fs/open`, `fs/readBlock`, `fs/writeBlock`, `fs/close`: files opened under client-chosen handle ids, read
 * and written in blocks of at most 1 MiB at any offset, so a file of any size streams in bounded memory.
 * One {@link FileHandleTable} per connection; its handles close with it. Ids, limits and messages are the
 * reference's (Codex 0.171).
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import type { FsOpenMode, FsOpenParams } from "../protocol/fs.ts";
import { errnoOf, errnoToRpcError, mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { base64Error, decodeBase64 } from "../util/base64.ts";
import { notAFile, requireRegularFile } from "./read_file.ts";

/** Open handles per connection. */
export const FILE_HANDLE_LIMIT = 128;
/** Largest block one `fs/readBlock` or `fs/writeBlock` moves. */
export const FILE_BLOCK_MAX_BYTES = 1024 * 1024;
const MAX_HANDLE_ID_BYTES = 32;

const EINVAL = 22;
const EFBIG = 27;

/**
 * Opens `path` as `fs/open` does: `read` needs an existing regular file (symlinks followed); `replace`
 * creates or truncates it at once (a directory is EISDIR, a FIFO without a reader ENXIO, any other
 * non-regular file "is not a file").
 */
export async function openFileForHandle(path: string, mode: FsOpenMode): Promise<Deno.FsFile> {
  return await mapOsErrors(async () => {
    if (mode === "read") {
      await requireRegularFile(path);
    } else {
      const existing = await Deno.stat(path).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return null;
        throw error;
      });
      if (existing?.isDirectory) throw errnoToRpcError(21);
      // The reference opens non-blocking: a FIFO nobody reads is ENXIO rather than a wait for a reader.
      if (existing?.isFifo) throw errnoToRpcError(6);
      if (existing && !existing.isFile) throw notAFile(path);
    }
    const file = await Deno.open(
      path,
      mode === "read" ? { read: true } : { write: true, create: true, truncate: true },
    );
    // The path may have been swapped between the stat and the open.
    if (!(await file.stat()).isFile) {
      file.close();
      throw notAFile(path);
    }
    return file;
  });
}

/** The identity of an opened file, to check that a second open reached the same one. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * `fs/open` as the sandbox helper runs it: open (creating or truncating for `replace`) with the
 * sandbox's mounts deciding what is allowed, then report which file that was; the server then opens that
 * same file itself (see {@link reopenSameFile}), since a handle outlives the helper.
 */
export async function probeOpen(params: FsOpenParams): Promise<{ handleId: string } & FileIdentity> {
  using file = await openFileForHandle(parseAbsolutePath(params.path), params.mode ?? "read");
  const info = await file.stat();
  return { handleId: params.handleId, dev: info.dev, ino: info.ino ?? 0 };
}

/**
 * Opens `path` (already created or truncated by {@link probeOpen}) without creating or truncating, and
 * refuses it unless it is the file the probe saw: a path swapped in between must not be written.
 */
export async function reopenSameFile(
  path: string,
  mode: FsOpenMode,
  seen: FileIdentity,
): Promise<Deno.FsFile> {
  const file = await mapOsErrors(() => Deno.open(path, mode === "read" ? { read: true } : { write: true }));
  const info = await file.stat();
  if (info.dev !== seen.dev || (info.ino ?? 0) !== seen.ino) {
    file.close();
    throw RpcError.internal(`path \`${path}\` changed while it was being opened`);
  }
  return file;
}

/** One open handle: its operations run one at a time (each is a seek then a read or write). */
class OpenHandle {
  #tail: Promise<unknown> = Promise.resolve();
  constructor(readonly file: Deno.FsFile) {}

  run<T>(operation: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => operation(this.file));
    this.#tail = result.catch(() => {});
    return result;
  }

  close(): Promise<void> {
    return this.run((file) => Promise.resolve(file.close()));
  }
}

/** A slot reserved while its file is being opened. */
const OPENING = Symbol("opening");

/** The handles of one connection. */
export class FileHandleTable {
  readonly #handles = new Map<string, OpenHandle | typeof OPENING>();
  #closed = false;

  /** Open handles (and opens in progress). */
  get size(): number {
    return this.#handles.size;
  }

  /**
   * Registers `handleId` for the file `open` returns. The id and capacity are checked before `open`
   * runs, so a refused `replace` never truncates anything.
   */
  async open(handleId: string, open: () => Promise<Deno.FsFile>): Promise<void> {
    checkHandleId(handleId);
    if (this.#handles.has(handleId)) {
      throw RpcError.invalidRequest(`file handle \`${handleId}\` already exists`);
    }
    if (this.#closed || this.#handles.size >= FILE_HANDLE_LIMIT) {
      throw RpcError.invalidRequest(`at most ${FILE_HANDLE_LIMIT} file handles may be open per connection`);
    }
    this.#handles.set(handleId, OPENING);
    let file: Deno.FsFile;
    try {
      file = await open();
    } catch (error) {
      if (this.#handles.get(handleId) === OPENING) this.#handles.delete(handleId);
      throw error;
    }
    if (this.#closed || this.#handles.get(handleId) !== OPENING) {
      // Closed (the handle or the whole connection) while it was opening.
      file.close();
      return;
    }
    this.#handles.set(handleId, new OpenHandle(file));
  }

  /**
   * Reads up to `len` bytes at `offset`; `eof` when fewer were left. The bytes are a fresh buffer of the
   * caller's (`fs/readBlock` sends them as base64 as it writes them, never as one string).
   */
  async readBlock(
    handleId: string,
    offset: number,
    len: number,
  ): Promise<{ data: Uint8Array; eof: boolean }> {
    checkHandleId(handleId);
    if (len < 1 || len > FILE_BLOCK_MAX_BYTES) {
      throw RpcError.invalidRequest(`file read block length must be between 1 and ${FILE_BLOCK_MAX_BYTES}`);
    }
    return await this.#handle(handleId).run((file) =>
      mapOsErrors(async () => {
        try {
          await file.seek(BigInt(offset), Deno.SeekMode.Start);
        } catch (error) {
          // Past the largest offset the filesystem allows: nothing there to read.
          if (errnoOf(error) === EINVAL) return { data: new Uint8Array(0), eof: true };
          throw error;
        }
        const buffer = new Uint8Array(len);
        let filled = 0;
        while (filled < len) {
          const n = await file.read(buffer.subarray(filled));
          if (n === null) break;
          filled += n;
        }
        return { data: buffer.subarray(0, filled), eof: filled < len };
      })
    );
  }

  /** Writes `chunk` (base64, 1 byte to 1 MiB decoded) at `offset`. */
  async writeBlock(handleId: string, offset: number, chunk: string): Promise<Record<string, never>> {
    const invalid = base64Error(chunk);
    if (invalid !== null) throw RpcError.invalidParams(invalid);
    const bytes = decodeBase64(chunk);
    checkHandleId(handleId);
    if (bytes.length < 1 || bytes.length > FILE_BLOCK_MAX_BYTES) {
      throw RpcError.invalidRequest(`file write block length must be between 1 and ${FILE_BLOCK_MAX_BYTES}`);
    }
    return await this.#handle(handleId).run((file) =>
      mapOsErrors(async () => {
        try {
          await file.seek(BigInt(offset), Deno.SeekMode.Start);
        } catch (error) {
          // The reference's pwrite reports an offset past the filesystem's maximum file size as EFBIG.
          if (errnoOf(error) === EINVAL) throw errnoToRpcError(EFBIG);
          throw error;
        }
        for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
        return {};
      })
    );
  }

  /** Closes a handle once its pending operations are done; closing an unknown id succeeds. */
  async close(handleId: string): Promise<Record<string, never>> {
    checkHandleId(handleId);
    const handle = this.#handles.get(handleId);
    this.#handles.delete(handleId);
    if (handle instanceof OpenHandle) await handle.close().catch(() => {});
    return {};
  }

  /** Closes every handle (the connection is gone); later opens are refused. */
  closeAll(): void {
    this.#closed = true;
    for (const handle of this.#handles.values()) {
      if (handle instanceof OpenHandle) handle.close().catch(() => {});
    }
    this.#handles.clear();
  }

  #handle(handleId: string): OpenHandle {
    const handle = this.#handles.get(handleId);
    if (!(handle instanceof OpenHandle)) {
      throw new RpcError(ErrorCode.NotFound, `unknown file handle \`${handleId}\``);
    }
    return handle;
  }
}

function checkHandleId(handleId: string): void {
  if (new TextEncoder().encode(handleId).length > MAX_HANDLE_ID_BYTES) {
    throw RpcError.invalidRequest(`file handle ID must not exceed ${MAX_HANDLE_ID_BYTES} bytes`);
  }
}
