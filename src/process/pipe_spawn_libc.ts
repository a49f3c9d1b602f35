/**
 * The `posix_spawn` backend of `spawnWithPipes` (`pipe_spawn.ts`): a session leader with non-blocking
 * pipe ends of ours, `arg0` honoured, the program looked up as `Deno.Command` does, failures in its
 * `<strerror> (os error N)` words, the exit collected on SIGCHLD.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import { decodeWaitStatus, type SpawnedChild } from "./child.ts";
import { waitForExit } from "./child_reaper.ts";
import { LibcError, NulByteError } from "./libc.ts";
import { closeFd, fdInode, pipe } from "./libc_fds.ts";
import { DEV_NULL_STDIN, spawnSession, type SpawnSpec } from "./libc_spawn.ts";
import { readFd } from "./node_tty.ts";
import { PIPE_CAPACITY, pipeBudget } from "./pipe_budget.ts";
import type { PipeSpawnOptions } from "./pipe_spawn.ts";
import { PipeWriter } from "./pipe_writer.ts";
import { resolveProgram } from "./program_lookup.ts";
import { spawnError } from "./spawn_error.ts";

const ENOENT = 2;
const ENOTDIR = 20;
const EINVAL = 22;

/** Output buffered in a stream before we stop reading its pipe. */
const OUTPUT_HIGH_WATER_MARK = 64 * 1024;

/** Spawns with `posix_spawn`; throws `RpcError(-32603)` with the OS text on failure. */
export function spawnLibc(options: PipeSpawnOptions): SpawnedChild {
  if (options.cwd.includes("\0")) throw spawnError(ENOENT);
  const cwd = options.cwd.startsWith("/") ? options.cwd : `${Deno.cwd()}/${options.cwd}`;
  const path = resolveProgram(options.program, options.env, cwd);
  const argv = [options.arg0 ?? options.program, ...options.args];
  const envp: string[] = [];
  for (const key in options.env) envp.push(`${key}=${options.env[key]}`);

  const opened: number[] = [];
  const theirs: number[] = [];
  let stdin = -1;
  let stdout = -1;
  let stderr = -1;
  let enlarged = 0;
  let pid: number;
  try {
    const take = (end: "read" | "write", enlarge: boolean) => {
      const asked = enlarge && pipeBudget.take();
      let fds: ReturnType<typeof pipe>;
      try {
        fds = pipe(end, asked ? PIPE_CAPACITY : undefined);
      } catch (error) {
        if (asked) pipeBudget.give(1);
        throw error;
      }
      if (fds.enlarged) enlarged++;
      else if (asked) pipeBudget.give(1); // refused by the kernel: nothing held
      opened.push(fds.ours);
      theirs.push(fds.theirs);
      return fds;
    };
    const stdinPipe = options.pipeStdin ? take("write", false) : null;
    const stdoutPipe = take("read", true);
    const stderrPipe = take("read", true);
    [stdin, stdout, stderr] = [stdinPipe?.ours ?? -1, stdoutPipe.ours, stderrPipe.ours];
    const stdio: SpawnSpec["stdio"] = [
      stdinPipe ? { dup: stdinPipe.theirs } : DEV_NULL_STDIN,
      { dup: stdoutPipe.theirs },
      { dup: stderrPipe.theirs },
    ];
    // A file that is neither a binary nor a `#!` script fails with ENOEXEC, as in Codex 0.171: running
    // it with /bin/sh (what execvp does) would execute a text file nobody marked as a script.
    pid = spawnSession({ path, argv, envp, cwd, stdio });
  } catch (error) {
    for (const fd of opened) closeFd(fd);
    pipeBudget.give(enlarged);
    throw spawnFailure(error, cwd);
  } finally {
    // The child has its copies (or there is no child): ours would only keep its EOF from coming.
    for (const fd of theirs) closeFd(fd);
  }

  const stdioPipes = pipeIdentities(opened);
  const status = waitForExit(pid).then(decodeWaitStatus, () => decodeWaitStatus(null));
  const out = readFd(stdout, { highWaterMark: OUTPUT_HIGH_WATER_MARK });
  const err = readFd(stderr, { highWaterMark: OUTPUT_HIGH_WATER_MARK });
  const writer = stdin >= 0 ? new PipeWriter(stdin) : null;
  let disposed = false;
  return {
    pid,
    outputs: [{ name: "stdout", stream: out.stream }, { name: "stderr", stream: err.stream }],
    writeStdin: writer ? (data) => writer.write(data) : null,
    closeStdin: writer ? () => writer.close() : null,
    resize: null,
    status,
    stdioPipes,
    dispose() {
      if (disposed) return;
      disposed = true;
      writer?.destroy();
      out.destroy();
      err.destroy();
      pipeBudget.give(enlarged);
    },
  };
}

/** Maps a failure of the spawn to Deno.Command's message for it. */
function spawnFailure(error: unknown, cwd: string): RpcError {
  if (error instanceof RpcError) return error;
  // A missing cwd is ENOENT, a cwd that is something else ENOTDIR (Codex 0.171's texts).
  const cwdKind = pathKind(cwd);
  if (cwdKind === "missing") return spawnError(ENOENT, error);
  if (cwdKind === "other") return spawnError(ENOTDIR, error);
  if (error instanceof NulByteError) return spawnError(EINVAL, error);
  if (error instanceof LibcError) return spawnError(error.errno, error);
  return RpcError.internal(error instanceof Error ? error.message : String(error), error);
}

function pathKind(path: string): "directory" | "other" | "missing" {
  try {
    return Deno.statSync(path).isDirectory ? "directory" : "other";
  } catch {
    return "missing";
  }
}

/** The `pipe:[inode]` identities of our pipe ends (both ends of a pipe show the same), as /proc shows them. */
function pipeIdentities(fds: readonly number[]): Set<string> {
  const pipes = new Set<string>();
  for (const fd of fds) {
    const inode = fdInode(fd);
    if (inode !== null) pipes.add(`pipe:[${inode}]`);
  }
  return pipes;
}
