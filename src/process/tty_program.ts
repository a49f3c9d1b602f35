/**
 * Program lookup for `tty:true` processes, matching the reference server's PTY layer (portable-pty's
 * `search_path`): only the child env's `PATH` is searched, and failures carry its exact messages.
 *
 * @module
 */

import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { ensurePtySupport, errnoByName, errnoText } from "./libc.ts";
import { isExecutable } from "./libc_fds.ts";

/**
 * Resolves `program` to the path a tty-mode spawn executes, or throws `RpcError(InternalError)` with the
 * reference's message:
 *
 * - absolute path: used as is if executable; otherwise `Unable to spawn <prog> because it doesn't exist on the
 *   filesystem (ENOENT: No such file or directory)`, `... because it is not executable (EACCES: ...)` or
 *   `... because it is a directory`;
 * - `./x` or `../x`: checked only relative to `cwd`;
 * - anything else (bare names, `a/b`): each `PATH` entry of `env` (relative entries against `cwd`) is tried in
 *   order; failure gives `Unable to spawn <prog> because:\nNo viable candidates found in PATH "<PATH>"`
 *   (preceded by a line per candidate that exists but is a directory or not executable), or
 *   `Unable to spawn <prog> because:\nUnable to resolve the PATH` when `env` has no `PATH`.
 *
 * The server's own `PATH` is never used. `cwd` (the child's, default the server's; a relative one is taken
 * against the server's) anchors `./x` and relative `PATH` entries; the result is always absolute.
 */
export function resolveTtyProgram(
  program: string,
  env: Record<string, string>,
  cwd: string = Deno.cwd(),
): string {
  const fail = (message: string): never => {
    throw new RpcError(ErrorCode.InternalError, message);
  };
  try {
    ensurePtySupport(); // access(2) comes from libc
  } catch (error) {
    fail((error as Error).message);
  }
  // Always yield an absolute path: the child changes directory before it execs.
  cwd = joinPath(Deno.cwd(), cwd);
  if (!program.startsWith("/")) {
    if (isCwdRelative(program)) {
      const candidate = joinPath(cwd, program);
      if (isDirectory(candidate)) fail(`Unable to spawn ${candidate} because it is a directory`);
      if (isExecutable(candidate)) return candidate;
      if (exists(candidate)) fail(`Unable to spawn ${candidate} because it is not executable`);
      fail(`Unable to spawn ${candidate} because it does not exist`);
    }
    const errors: string[] = [];
    const path = Object.hasOwn(env, "PATH") ? env.PATH : undefined;
    if (path === undefined) {
      errors.push("Unable to resolve the PATH");
    } else {
      for (const dir of path.split(":")) {
        const candidate = joinPath(joinPath(cwd, dir), program);
        if (isDirectory(candidate)) errors.push(`${candidate} exists but is a directory`);
        else if (isExecutable(candidate)) return candidate;
        else if (exists(candidate)) errors.push(`${candidate} exists but is not executable`);
      }
      errors.push(`No viable candidates found in PATH ${rustDebugString(path)}`);
    }
    return fail(`Unable to spawn ${program} because:\n${errors.join(".\n")}`);
  }
  if (isDirectory(program)) fail(`Unable to spawn ${program} because it is a directory`);
  if (isExecutable(program)) return program;
  if (exists(program)) {
    fail(`Unable to spawn ${program} because it is not executable (${nixErrno("EACCES")})`);
  }
  return fail(
    `Unable to spawn ${program} because it doesn't exist on the filesystem (${statError(program)})`,
  );
}

/** `./x`, `../x`, `.`: Rust's "first path component is CurDir or ParentDir". */
function isCwdRelative(program: string): boolean {
  const first = program.split("/")[0];
  return first === "." || first === "..";
}

/** Rust `Path::join`: an absolute `part` replaces `base`; otherwise one `/` separates them. */
function joinPath(base: string, part: string): string {
  if (part.startsWith("/")) return part;
  if (base === "" || base.endsWith("/")) return base + part;
  return `${base}/${part}`;
}

function stat(path: string): Deno.FileInfo | Error {
  try {
    return Deno.statSync(path);
  } catch (error) {
    return error as Error;
  }
}

function isDirectory(path: string): boolean {
  const info = stat(path);
  return !(info instanceof Error) && info.isDirectory;
}

function exists(path: string): boolean {
  return !(stat(path) instanceof Error);
}

/** The nix crate's errno display (`ENOENT: No such file or directory`) for why `path` cannot be found. */
function statError(path: string): string {
  const info = stat(path);
  const code = info instanceof Error ? (info as { code?: string }).code : undefined;
  return nixErrno(code && errnoByName(code) !== undefined ? code : "ENOENT");
}

function nixErrno(name: string): string {
  return `${name}: ${errnoText(errnoByName(name) ?? 0)}`;
}

/** Rust's `{:?}` for a string: double quotes, with `"`, `\` and control characters escaped. */
function rustDebugString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\0") out += "\\0";
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}
