/**
 * The `Deno.Command` backend of `spawnWithPipes` (`pipe_spawn.ts`), used where libc cannot be reached
 * through FFI. It has no argv[0] override, so `arg0` is ignored here.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { SpawnedChild } from "./child.ts";
import type { PipeSpawnOptions } from "./pipe_spawn.ts";
import { openFds, stdioPipesOf } from "./process_tree.ts";
import { spawnErrorMessage } from "./spawn_error.ts";

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Spawns with `Deno.Command`; throws `RpcError(-32603)` with the OS text on failure. */
export function spawnDeno(options: PipeSpawnOptions): SpawnedChild {
  // The child's stdio pipes are learnt from /proc afterwards (see stdioPipesOf): note our fds first.
  const fdsBefore = openFds();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.program, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: options.pipeStdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    throw RpcError.internal(spawnErrorMessage(error), error);
  }
  const stdioPipes = stdioPipesOf(child.pid, fdsBefore);
  const writer = options.pipeStdin ? child.stdin.getWriter() : null;
  let stdinClosed = false;
  return {
    pid: child.pid,
    outputs: [{ name: "stdout", stream: child.stdout }, { name: "stderr", stream: child.stderr }],
    writeStdin: writer ? (data) => writer.write(data) : null,
    closeStdin: writer
      ? async () => {
        if (stdinClosed) return;
        stdinClosed = true;
        await writer.close().catch(() => {});
      }
      : null,
    resize: null,
    status: child.status.then((s) => ({
      code: s.code,
      signal: s.signal ? SIGNAL_NUMBERS[s.signal] ?? null : null,
    })),
    stdioPipes,
    dispose() {
      if (writer && !stdinClosed) {
        stdinClosed = true;
        writer.close().catch(() => {});
      }
    },
  };
}
