/**
 * `fs/getMetadata` and `fs/canonicalize`.
 *
 * @module
 */
import type { FsCanonicalizeResult, FsMetadata, FsPathParams } from "../protocol/fs.ts";
import { mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath, toFileUri } from "../protocol/paths.ts";

/** Type and size follow symlinks; `isSymlink` is the path itself; `createdAtMs` is 0 when unknown. */
export async function getMetadata(params: FsPathParams): Promise<FsMetadata> {
  const path = parseAbsolutePath(params.path);
  return await mapOsErrors(async () => {
    const info = await Deno.stat(path);
    const link = await Deno.lstat(path);
    return {
      isDirectory: info.isDirectory,
      isFile: info.isFile,
      isSymlink: link.isSymlink,
      size: info.size,
      createdAtMs: info.birthtime?.getTime() ?? 0,
      modifiedAtMs: info.mtime?.getTime() ?? 0,
    };
  });
}

/** realpath(3) of an existing path, as a `file://` URI. */
export async function canonicalize(params: FsPathParams): Promise<FsCanonicalizeResult> {
  const path = parseAbsolutePath(params.path);
  return await mapOsErrors(async () => ({ path: toFileUri(await Deno.realPath(path)) }));
}
