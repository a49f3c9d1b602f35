/**
 * `fs/createDirectory` and `fs/readDirectory`.
 *
 * @module
 */
import type { FsCreateDirectoryParams, FsPathParams, FsReadDirectoryResult } from "../protocol/fs.ts";
import type { EmptyResult } from "../protocol/process.ts";
import { mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { joinPath } from "../util/absolute_path.ts";

/** Creates a directory; `recursive` (default true) creates parents and accepts an existing directory. */
export async function createDirectory(params: FsCreateDirectoryParams): Promise<EmptyResult> {
  const path = parseAbsolutePath(params.path);
  await mapOsErrors(() => Deno.mkdir(path, { recursive: params.recursive ?? true }));
  return {};
}

/**
 * Lists a directory in raw readdir order. Type flags follow symlinks; entries whose target cannot be
 * read (dangling links) are left out.
 */
export async function readDirectory(params: FsPathParams): Promise<FsReadDirectoryResult> {
  const path = parseAbsolutePath(params.path);
  return await mapOsErrors(async () => {
    const entries: FsReadDirectoryResult["entries"] = [];
    for await (const entry of Deno.readDir(path)) {
      let { isDirectory, isFile } = entry;
      if (entry.isSymlink) {
        try {
          ({ isDirectory, isFile } = await Deno.stat(joinPath(path, entry.name)));
        } catch {
          continue;
        }
      }
      entries.push({ fileName: entry.name, isDirectory, isFile });
    }
    return { entries };
  });
}
