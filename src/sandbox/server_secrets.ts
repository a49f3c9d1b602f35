/**
 * The server's own secret files (the `--ws-token-file`, the `--tls-key`): masked with /dev/null inside
 * every sandbox, whatever the sandbox policy grants, so a sandboxed process can never read them.
 *
 * Paths are kept canonical (symlinks resolved), because that is where bubblewrap mounts the mask; a
 * symlink to the file inside the sandbox then leads to the mask. A hard link elsewhere is a different
 * path and is not masked: keep secret files out of directories a sandbox may read, where possible.
 *
 * @module
 */

const secrets = new Set<string>();

/** Adds `path` (resolved to its canonical path; a missing file is skipped) to the masked files. */
export function protectServerFile(path: string): void {
  try {
    secrets.add(Deno.realPathSync(path));
  } catch {
    // Nothing there to protect.
  }
}

/** The canonical paths masked in every sandbox. */
export function serverSecretPaths(): string[] {
  return [...secrets];
}
