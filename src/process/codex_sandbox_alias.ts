/**
 * Codex 0.140 with `--sandbox workspace-write` sandboxes commands itself: it starts its own binary with
 * `arg0: "codex-linux-sandbox"`, and that mode runs bubblewrap, which execs `codex-linux-sandbox` again by
 * name from `PATH`. The reference server (the same binary) makes that work by putting an alias directory
 * first on the child's `PATH`; we do the same, with an alias to the program the client asked for.
 *
 * The aliases live in a directory only this user can write (`$XDG_RUNTIME_DIR`, else the temp dir), one
 * subdirectory per target, so another user cannot plant a `codex-linux-sandbox` there.
 *
 * @module
 */
import { dirname } from "../util/absolute_path.ts";

const CODEX_SANDBOX_ARG0 = "codex-linux-sandbox";

const created = new Map<string, string>();

/** The alias directory for `target` (an absolute path), created on first use; null if it cannot be made. */
function codexSandboxAliasDir(target: string): string | null {
  const known = created.get(target);
  if (known) return known;
  try {
    const base = `${Deno.env.get("XDG_RUNTIME_DIR") || Deno.env.get("TMPDIR") || "/tmp"}/exec-server-${
      Deno.uid() ?? "user"
    }-aliases`;
    ensurePrivateDirectory(base);
    const dir = `${base}/${aliasKey(target)}`;
    ensurePrivateDirectory(dir);
    const link = `${dir}/${CODEX_SANDBOX_ARG0}`;
    try {
      if (Deno.readLinkSync(link) !== target) {
        Deno.removeSync(link);
        Deno.symlinkSync(target, link);
      }
    } catch {
      Deno.symlinkSync(target, link);
    }
    created.set(target, dir);
    return dir;
  } catch {
    return null;
  }
}

/**
 * For a start with `arg0: "codex-linux-sandbox"`, `env` with the alias directory of `program` first on
 * `PATH`; otherwise `env` unchanged.
 */
export function withCodexSandboxAlias(
  program: string | undefined,
  arg0: string | null | undefined,
  env: Record<string, string>,
): Record<string, string> {
  if (arg0 !== CODEX_SANDBOX_ARG0 || !program?.startsWith("/")) return env;
  const dir = codexSandboxAliasDir(program);
  if (dir === null || dirname(program) === dir) return env;
  return { ...env, PATH: env.PATH ? `${dir}:${env.PATH}` : dir };
}

/** A directory this user owns and only it can write: made 0700, or checked when it exists. */
function ensurePrivateDirectory(path: string): void {
  try {
    Deno.mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = Deno.lstatSync(path);
  const uid = Deno.uid();
  if (
    !info.isDirectory || info.isSymlink || (uid !== null && info.uid !== uid) || ((info.mode ?? 0) & 0o022)
  ) {
    throw new Error(`${path} is not a private directory of this user`);
  }
}

function aliasKey(target: string): string {
  // FNV-1a: a short, stable name per target (no secrecy needed: the directory is private).
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(target)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}
