/**
 * Spawns a child with pipes, in its own session and process group (setsid), with an exact environment.
 *
 * On Linux/glibc with FFI allowed (detected once), the child is started with `posix_spawn` (see
 * `pipe_spawn_libc.ts`): `Deno.Command` with `detached` would fork the whole Deno process (its page tables
 * copied: 1.3-2 ms on the JS thread per spawn, against ~0.3 ms). Our ends of the pipes are non-blocking: stdout and
 * stderr are read on the event loop (`node_tty.ts`), stdin is written with non-blocking `write(2)` and a
 * `poll(2)` for writability on a worker thread, the exit status comes from `waitpid(WNOHANG)` on SIGCHLD.
 * argv[0] is free, so `arg0` is honoured. The program is looked up like `Deno.Command` does, and failures
 * carry the same `<strerror> (os error N)` messages.
 *
 * Elsewhere (no FFI), `Deno.Command` spawns the child; it has no argv[0] override, so `arg0` is ignored there.
 * Both paths (`pipe_spawn_deno.ts` for this one) present the same {@link SpawnedChild}.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { SpawnedChild } from "./child.ts";
import { hasLibcSpawn } from "./libc.ts";
import { spawnDeno } from "./pipe_spawn_deno.ts";
import { spawnLibc } from "./pipe_spawn_libc.ts";

/** What to run. */
export interface PipeSpawnOptions {
  /** Program: a path, or a bare name looked up in `env.PATH` (else the server's PATH). */
  program: string;
  /** Arguments after argv[0]. */
  args: string[];
  /** argv[0] as the child sees it; `undefined` means the program name. */
  arg0?: string;
  cwd: string;
  env: Record<string, string>;
  pipeStdin: boolean;
}

/** Spawns the child; throws `RpcError(-32603)` with the OS text on failure. */
export function spawnWithPipes(options: PipeSpawnOptions): SpawnedChild {
  if (options.program === "") throw RpcError.internal("missing program for pipe spawn");
  return hasLibcSpawn() ? spawnLibc(options) : spawnDeno(options);
}
