/**
 * Expands the glob patterns of sandbox entries (`*`, `?`, `[...]`, `**`) into the existing paths they
 * match, so bubblewrap can mount each one.
 *
 * @module
 */
import { components, joinPath } from "../util/absolute_path.ts";

/** Depth scanned below a pattern's literal prefix when the profile gives no `glob_scan_max_depth`. */
export const DEFAULT_GLOB_SCAN_DEPTH = 16;
/** Stop after this many matches: a mount per match, and bwrap's argv, must stay bounded. */
const MAX_MATCHES = 4096;

const GLOB_CHARS = /[*?[]/;

/** A glob as a regex over whole absolute paths. */
export function globToRegExp(pattern: string): RegExp {
  let out = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // `**/` matches zero or more whole directories; a trailing `**` matches everything below.
        const slash = pattern[i + 2] === "/";
        out += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
      } else {
        let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        out += `[${body}]`;
        i = end;
      }
    } else {
      out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
    }
  }
  return new RegExp(out + "$");
}

/** Existing paths matching an absolute glob, scanning at most `maxDepth` levels below its literal prefix. */
export function expandGlob(pattern: string, maxDepth = DEFAULT_GLOB_SCAN_DEPTH): string[] {
  if (!GLOB_CHARS.test(pattern)) {
    try {
      Deno.lstatSync(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const parts = components(pattern);
  const literal = parts.findIndex((p) => GLOB_CHARS.test(p));
  const base = "/" + parts.slice(0, literal).join("/");
  const regex = globToRegExp("/" + parts.join("/"));
  const matches: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > maxDepth || matches.length >= MAX_MATCHES) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = joinPath(dir, entry.name);
      if (regex.test(path)) matches.push(path);
      if (entry.isDirectory) walk(path, depth + 1);
    }
  };
  walk(base, 1);
  return matches;
}
