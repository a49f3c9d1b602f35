/**
 * `fs/copy`: files, symlinks (recreated as links) and, with `recursive`, directory trees (merged into an
 * existing destination directory).
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { FsCopyParams } from "../protocol/fs.ts";
import type { EmptyResult } from "../protocol/process.ts";
import { mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { isSameOrDescendant, joinPath, resolveExistingPrefix } from "../util/absolute_path.ts";

/** Copies `sourcePath` to `destinationPath`; see the module doc for the rules. */
export async function copy(params: FsCopyParams): Promise<EmptyResult> {
  const source = parseAbsolutePath(params.sourcePath);
  const destination = parseAbsolutePath(params.destinationPath);
  await mapOsErrors(async () => {
    const info = await Deno.lstat(source);
    if (info.isDirectory) {
      if (!params.recursive) {
        throw RpcError.invalidRequest("fs/copy requires recursive: true when sourcePath is a directory");
      }
      if (isSameOrDescendant(resolveExistingPrefix(destination), await Deno.realPath(source))) {
        throw RpcError.invalidRequest("fs/copy cannot copy a directory to itself or one of its descendants");
      }
      await copyTree(source, destination);
    } else if (info.isSymlink) {
      await Deno.symlink(await Deno.readLink(source), destination);
    } else if (info.isFile) {
      await copyFile(source, destination, info);
    } else {
      throw RpcError.invalidRequest("fs/copy only supports regular files, directories, and symlinks");
    }
  });
  return {};
}

async function copyFile(source: string, destination: string, info: Deno.FileInfo): Promise<void> {
  // Copying a file onto itself would truncate it to nothing; it is already "copied".
  const existing = await Deno.stat(destination).catch(() => null);
  if (existing && existing.dev === info.dev && existing.ino === info.ino) return;
  await Deno.copyFile(source, destination);
}

/** Like the reference: create the directory, then copy entries; other file types inside are skipped. */
async function copyTree(source: string, destination: string): Promise<void> {
  await Deno.mkdir(destination, { recursive: true });
  for await (const entry of Deno.readDir(source)) {
    const from = joinPath(source, entry.name);
    const to = joinPath(destination, entry.name);
    if (entry.isDirectory) await copyTree(from, to);
    else if (entry.isFile) await copyFile(from, to, await Deno.lstat(from));
    else if (entry.isSymlink) await Deno.symlink(await Deno.readLink(from), to);
  }
}
