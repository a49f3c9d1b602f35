/**
 * A keeper: a small `sh` that runs a script once this process is gone, by any means, SIGKILL included.
 * It reads a pipe whose only write end this process holds (close-on-exec, so no child inherits it); the
 * kernel closes that end when we die, the keeper's `read` sees EOF, and the rest of its script runs. The
 * scripts (`cgroup_keeper.ts`, `group_keeper.ts`) end what this process started.
 *
 * @module
 */
import { hasLibcSpawn } from "./libc.ts";
import { closeFd, pipe } from "./libc_fds.ts";
import { spawnSession } from "./libc_spawn.ts";

const SHELLS = ["/bin/sh", "/usr/bin/sh"];
const O_WRONLY = 1;
const DEV_NULL_OUT = { open: "/dev/null", flags: O_WRONLY };

/**
 * Starts a keeper running `script` (which must begin by reading stdin to EOF) with `$1` = `arg`; returns
 * its pid and our (non-blocking) write end of its stdin, or a reason it could not run (no FFI spawn, no
 * sh). The keeper is its own session, so signals to the server's terminal group do not reach it.
 */
export function startKeeper(
  script: string,
  arg: string,
): { pid: number; fd: number } | { unavailable: string } {
  if (!hasLibcSpawn()) return { unavailable: "spawning it needs FFI (--allow-ffi, glibc)" };
  const shell = SHELLS.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
  if (!shell) return { unavailable: "no /bin/sh" };
  const { ours, theirs } = pipe("write");
  try {
    const pid = spawnSession({
      path: shell,
      argv: ["exec-server-keeper", "-c", script, "exec-server-keeper", arg],
      envp: ["PATH=/usr/bin:/bin:/usr/sbin:/sbin"],
      cwd: "/",
      stdio: [{ dup: theirs }, DEV_NULL_OUT, DEV_NULL_OUT],
    });
    // `ours` stays open for the life of this process: its closing is the keeper's signal.
    return { pid, fd: ours };
  } catch (error) {
    closeFd(ours);
    return { unavailable: `spawn failed: ${(error as Error).message}` };
  } finally {
    closeFd(theirs);
  }
}
