/**
 * `fs/writeFile`: creates or replaces a file from base64. Whole-file writes are atomic (a temp file in
 * the same directory, renamed over the target, keeping an existing file's mode), except over a file with
 * other hard links, which is rewritten in place like the reference does; the extension's ranged
 * (`offset`) and `append` writes go in place. Data is decoded and written in pieces.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { FsWriteFileParams } from "../protocol/fs.ts";
import type { EmptyResult } from "../protocol/process.ts";
import { base64Error, decodeBase64Chunks } from "../util/base64.ts";
import { errnoOf, errnoToRpcError, mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { basename, dirname, joinPath } from "../util/absolute_path.ts";

/** Writes `dataBase64` to `path`. The parent must exist; symlinks at the target are written through. */
export async function writeFile(params: FsWriteFileParams): Promise<EmptyResult> {
  const path = parseAbsolutePath(params.path);
  const error = base64Error(params.dataBase64);
  if (error !== null) {
    throw RpcError.invalidRequest(`fs/writeFile requires valid base64 dataBase64: ${error}`);
  }
  if (params.append && params.offset != null) {
    throw RpcError.invalidParams("offset and append cannot be combined");
  }
  await mapOsErrors(async () => {
    if (params.append || params.offset != null) {
      using file = await Deno.open(path, { write: true, create: true, append: params.append ?? false });
      if (params.offset) await file.seek(params.offset, Deno.SeekMode.Start);
      await writeChunks(file, params.dataBase64);
    } else {
      await writeWhole(path, params.dataBase64);
    }
  });
  return {};
}

/** Decodes the next piece while the previous one is written on the I/O thread (two buffers in turn). */
async function writeChunks(file: Deno.FsFile, dataBase64: string): Promise<void> {
  const writeAll = async (chunk: Uint8Array) => {
    for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
  };
  let inFlight: Promise<void> | null = null;
  for (const chunk of decodeBase64Chunks(dataBase64, undefined, 2)) {
    if (inFlight) await inFlight;
    inFlight = writeAll(chunk);
  }
  await inFlight;
}

async function writeInPlace(path: string, dataBase64: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await writeChunks(file, dataBase64);
}

async function writeWhole(path: string, dataBase64: string): Promise<void> {
  // A trailing slash is the OS's to judge (ENOTDIR/EISDIR), as a plain open would.
  if (path.endsWith("/")) return await writeInPlace(path, dataBase64);
  const target = await followLinks(path);
  const existing = await lstatOrNull(target);
  if (existing?.isDirectory) throw errnoToRpcError(21);
  // Devices, FIFOs and sockets are written in place: renaming over /dev/null would replace it. So is a
  // file with other hard links: a rename would cut it off from them (the reference writes in place).
  if (existing && (!existing.isFile || (existing.nlink ?? 1) > 1)) {
    return await writeInPlace(target, dataBase64);
  }

  const temp = joinPath(dirname(target), `.${basename(target)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o666 });
  } catch (error) {
    // An existing file in a directory we may not add entries to can still be rewritten in place.
    const errno = errnoOf(error);
    if (existing && (errno === 1 || errno === 13)) return await writeInPlace(target, dataBase64);
    throw error;
  }
  try {
    try {
      await writeChunks(file, dataBase64);
      if (existing) {
        await Deno.chmod(temp, existing.mode! & 0o7777);
        // Keep the owner when we are allowed to (root); otherwise the new file is ours.
        await Deno.chown(temp, existing.uid, existing.gid).catch(() => {});
      }
    } finally {
      file.close();
    }
    await Deno.rename(temp, target);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Follows symlinks at the final component, as `open(2)` would, so the link survives the rename. */
async function followLinks(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    const info = await lstatOrNull(current);
    if (!info?.isSymlink) return current;
    const target = await Deno.readLink(current);
    current = target.startsWith("/") ? target : joinPath(dirname(current), target);
  }
  throw errnoToRpcError(40);
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
