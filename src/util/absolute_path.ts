/**
 * Path resolution shared by `fs/copy` (copy-into-itself check) and the sandbox (canonical paths before
 * entering bubblewrap); here in util so that neither of those rooms imports the other.
 *
 * @module
 */

/** Splits an absolute path into its components (no empty ones). */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "");
}

/** True when `path` is `base` or lies under it, compared by whole components. */
export function isSameOrDescendant(path: string, base: string): boolean {
  const p = components(path);
  const b = components(base);
  return b.length <= p.length && b.every((c, i) => p[i] === c);
}

/** Joins a directory and a relative remainder without doubling slashes. */
export function joinPath(dir: string, rest: string): string {
  if (rest === "") return dir;
  return dir.endsWith("/") ? dir + rest : `${dir}/${rest}`;
}

/** The parent directory of an absolute path (`/` for `/x` and `/`). */
export function dirname(path: string): string {
  const parts = components(path);
  parts.pop();
  return "/" + parts.join("/");
}

/** The last component of a path (empty for `/`). */
export function basename(path: string): string {
  return components(path).at(-1) ?? "";
}

/**
 * realpath(3) of the longest prefix of `path` that resolves, with the rest appended unchanged (so a
 * `..` after a missing component is still left for the OS to reject). Follows every symlink.
 */
export function resolveExistingPrefix(path: string): string {
  const parts = components(path);
  for (let n = parts.length; n >= 0; n--) {
    try {
      const real = Deno.realPathSync("/" + parts.slice(0, n).join("/"));
      return joinPath(real, parts.slice(n).join("/"));
    } catch {
      // try a shorter prefix
    }
  }
  return path;
}

/**
 * Canonical form for sandboxed operations: the parent is resolved (symlinks and `..`) but the final
 * component is kept, so operations that act on a link itself (remove, copy, getMetadata's `isSymlink`)
 * still see the link. A final `.` or `..` is resolved with the rest.
 */
export function canonicalParent(path: string): string {
  const parts = components(path);
  const last = parts.at(-1);
  const resolved = last === undefined || last === "." || last === ".."
    ? resolveExistingPrefix(path)
    : joinPath(resolveExistingPrefix("/" + parts.slice(0, -1).join("/")), last);
  // A trailing slash means "must be a directory" to the OS; keep it.
  return path.endsWith("/") && !resolved.endsWith("/") ? resolved + "/" : resolved;
}
