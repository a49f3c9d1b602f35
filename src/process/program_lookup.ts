/**
 * Program lookup for the `posix_spawn` backend, as `Deno.Command` does it (so both backends run the same
 * file for the same name).
 *
 * @module
 */
import { isExecutable } from "./libc_fds.ts";
import { spawnError } from "./spawn_error.ts";

const ENOENT = 2;
const EINVAL = 22;

/**
 * The program to execute, as `Deno.Command` resolves it: a name containing `/` is taken relative to the
 * child's cwd (lexically normalised); a bare name is searched in the child env's `PATH` (the server's when the
 * child env has none), empty entries skipped, the first executable regular file winning. (A relative entry
 * is checked against the server's cwd but, as a relative path, executed in the child's cwd: Deno's quirk.) Throws `No such file or directory (os error 2)` when nothing is found.
 */
export function resolveProgram(program: string, env: Record<string, string>, cwd: string): string {
  if (program.includes("/")) {
    if (program.includes("\0")) throw spawnError(EINVAL);
    return normalizePath(program.startsWith("/") ? program : `${cwd}/${program}`);
  }
  if (program.includes("\0")) throw spawnError(ENOENT);
  const path = Object.hasOwn(env, "PATH") ? env.PATH : serverPath();
  if (path !== undefined) {
    for (const dir of path.split(":")) {
      if (dir === "" || dir.includes("\0")) continue;
      // A relative entry is checked against the server's cwd and executed in the child's, as Deno does.
      const candidate = `${dir}/${program}`;
      if (isExecutable(candidate) && isFile(candidate)) return candidate;
    }
  }
  throw spawnError(ENOENT);
}

function serverPath(): string | undefined {
  try {
    return Deno.env.get("PATH");
  } catch {
    return undefined; // no --allow-env
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Lexical normalisation of an absolute path (`.`, `..`, repeated slashes), as Deno's `normalize_path`. */
function normalizePath(path: string): string {
  if (!/\/\.{0,2}(\/|$)|\/\//.test(path)) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}
