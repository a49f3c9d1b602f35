/**
 * `fs/remove`.
 *
 * @module
 */
import type { FsRemoveParams } from "../protocol/fs.ts";
import type { EmptyResult } from "../protocol/process.ts";
import { mapOsErrors } from "../protocol/os_error.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";

/**
 * Removes a file, link or directory. `recursive` (default true) removes a non-empty directory; `force`
 * (default true) makes a missing path a success. A symlink is removed as a link; its target is untouched.
 */
export async function remove(params: FsRemoveParams): Promise<EmptyResult> {
  const path = parseAbsolutePath(params.path);
  const recursive = params.recursive ?? true;
  const force = params.force ?? true;
  await mapOsErrors(async () => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (force && error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    try {
      // Deno.remove unlinks links and files and rmdirs directories; recursion never follows links.
      await Deno.remove(path, { recursive: recursive && info.isDirectory });
    } catch (error) {
      if (force && error instanceof Deno.errors.NotFound) return;
      throw error;
    }
  });
  return {};
}
