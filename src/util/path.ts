/**
 * The few POSIX path functions the CLI and config need, with `node:path`'s (posix) semantics, so that the
 * server's startup does not load Deno's Node compatibility layer (any static `node:` import costs ~6–10 ms
 * of cold start). Paths are `/`-separated (this program runs on Linux and macOS only).
 *
 * @module
 */

/** True for `/`-rooted paths. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** Resolves `.` and `..` segments and repeated slashes (node's `normalizeString`, posix). */
function normalizeSegments(path: string, allowAboveRoot: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (allowAboveRoot) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}

/** `path.posix.normalize`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  const trailingSeparator = path.endsWith("/");
  let result = normalizeSegments(path, !absolute);
  if (result === "" && !absolute) result = ".";
  if (result !== "" && trailingSeparator) result += "/";
  return absolute ? `/${result}` : result;
}

/** `path.posix.join`: joins the non-empty segments and normalizes. */
export function join(...paths: string[]): string {
  const joined = paths.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** `path.posix.resolve`: an absolute, normalized path, against `Deno.cwd()`; no trailing slash. */
export function resolve(...paths: string[]): string {
  let resolved = "";
  for (let i = paths.length - 1; i >= -1 && !isAbsolute(resolved); i--) {
    const path = i >= 0 ? paths[i] : Deno.cwd();
    if (path === "") continue;
    resolved = resolved === "" ? path : `${path}/${resolved}`;
  }
  return `/${normalizeSegments(resolved, false)}`;
}

/** `path.posix.dirname` (node's algorithm, including its treatment of repeated slashes). */
export function dirname(path: string): string {
  if (path.length === 0) return ".";
  const hasRoot = path[0] === "/";
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; --i) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** `path.posix.basename` (without the suffix argument). */
export function basename(path: string): string {
  let start = 0;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 0; --i) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
  }
  return end === -1 ? "" : path.slice(start, end);
}
