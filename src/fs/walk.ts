/**
 * `fs/walk`: a bounded breadth-first listing of a directory tree, as the reference does it. Each
 * directory's entries are taken in byte order; only files and directories are listed (symlinks only as
 * directories, and only with `followDirectorySymlinks`); a directory reached twice is descended once.
 * Errors reading a subdirectory are reported in `errors` and the walk goes on.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { FsWalkParams, FsWalkResult } from "../protocol/fs.ts";
import { mapOsErrors, toRpcError } from "../protocol/os_error.ts";
import { parseAbsolutePath, toFileUri } from "../protocol/paths.ts";
import { joinPath } from "../util/absolute_path.ts";

/** The reference's ceilings on the requested limits. */
export const WALK_LIMITS = { depth: 64, directories: 10_000, entries: 50_000 } as const;
/** The reference's bound on the (estimated) response size: each entry or error costs its text plus 64. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const ITEM_OVERHEAD_BYTES = 64;

interface Listed {
  name: string;
  isSymlink: boolean;
  isDirectory: boolean;
  isFile: boolean;
}

/** Walks `params.path`; see the module doc. */
export async function walk(params: FsWalkParams): Promise<FsWalkResult> {
  const root = trimTrailingSlashes(parseAbsolutePath(params.path));
  const options = params.options;
  if (options.maxDirectories === 0 || options.maxEntries === 0) {
    throw RpcError.invalidRequest("filesystem walk limits must be greater than zero");
  }
  if (
    options.maxDepth > WALK_LIMITS.depth || options.maxDirectories > WALK_LIMITS.directories ||
    options.maxEntries > WALK_LIMITS.entries
  ) {
    throw RpcError.invalidRequest(
      `filesystem walk limits exceed maximums: depth=${WALK_LIMITS.depth}, directories=${WALK_LIMITS.directories}, entries=${WALK_LIMITS.entries}`,
    );
  }
  const follow = options.followDirectorySymlinks;
  const outcome: FsWalkResult = { entries: [], errors: [], truncated: false };
  const rootInfo = await mapOsErrors(async () => ({
    link: await Deno.lstat(root),
    target: await Deno.stat(root),
  }));
  if (!rootInfo.target.isDirectory || (rootInfo.link.isSymlink && !follow)) return outcome;

  let responseBytes = 0;
  const reserve = (bytes: number): boolean => {
    if (responseBytes + bytes + ITEM_OVERHEAD_BYTES > MAX_RESPONSE_BYTES) {
      outcome.truncated = true;
      return false;
    }
    responseBytes += bytes + ITEM_OVERHEAD_BYTES;
    return true;
  };
  const pushError = (path: string, error: unknown): boolean => {
    const uri = toFileUri(path);
    const message = toRpcError(error).message;
    if (!reserve(uri.length + message.length)) return false;
    outcome.errors.push({ path: uri, message });
    return true;
  };

  const identity = async (path: string) => follow ? await Deno.realPath(path) : path;
  const visited = new Set<string>([await mapOsErrors(() => identity(root))]);
  const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
  let directoryCount = 1;
  let entryCount = 0;
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const { dir, depth } = next;
    let listed: Listed[];
    try {
      listed = await listDirectory(dir);
    } catch (error) {
      if (!pushError(dir, error)) return outcome;
      continue;
    }
    for (const entry of listed) {
      if (entryCount === options.maxEntries) {
        outcome.truncated = true;
        return outcome;
      }
      entryCount++;
      if (entry.isSymlink && (!follow || !entry.isDirectory)) continue;
      if (!entry.isDirectory && !entry.isFile) continue;
      const path = joinPath(dir, entry.name);
      const uri = toFileUri(path);
      if (!reserve(uri.length)) return outcome;
      outcome.entries.push({ path: uri, kind: entry.isDirectory ? "directory" : "file" });
      if (!entry.isDirectory || depth >= options.maxDepth) continue;
      if (options.pruneHiddenDirectories && entry.name.startsWith(".")) continue;
      let id: string;
      try {
        id = await identity(path);
      } catch (error) {
        if (!pushError(path, error)) return outcome;
        continue;
      }
      if (visited.has(id)) continue;
      visited.add(id);
      if (directoryCount === options.maxDirectories) {
        outcome.truncated = true;
      } else {
        directoryCount++;
        queue.push({ dir: path, depth: depth + 1 });
      }
    }
  }
  return outcome;
}

/**
 * A directory's entries in UTF-8 byte order, types following symlinks (as `fs/readDirectory` reports
 * them); links whose target cannot be read (dangling) are left out and do not count as entries.
 */
async function listDirectory(dir: string): Promise<Listed[]> {
  const listed: Listed[] = [];
  for await (const entry of Deno.readDir(dir)) {
    let { isDirectory, isFile } = entry;
    if (entry.isSymlink) {
      try {
        ({ isDirectory, isFile } = await Deno.stat(joinPath(dir, entry.name)));
      } catch {
        continue;
      }
    }
    listed.push({ name: entry.name, isSymlink: entry.isSymlink, isDirectory, isFile });
  }
  return listed.sort((a, b) => compareCodePoints(a.name, b.name));
}

/** Code point order, which is UTF-8 byte order (plain `<` compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  }
  return x.length - y.length;
}

const SURROGATE = /[\uD800-\uDFFF]/;

function trimTrailingSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}
