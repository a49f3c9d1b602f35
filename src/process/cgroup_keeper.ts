/**
 * The keeper: a small `sh` outside the server's cgroup subtree that ends every process the server started
 * when the server dies by any means, SIGKILL included. It reads a pipe whose only write end this process
 * holds (close-on-exec, so no child inherits it); the kernel closes that end when we die, the read sees
 * EOF, and the keeper kills the subtree with one write to `cgroup.kill`, waits (bounded) for it to empty
 * and removes the groups. After a clean shutdown it finds the groups gone and just exits.
 *
 * @module
 */
import { hasLibcSpawn } from "./libc.ts";
import { closeFd, pipe } from "./libc_fds.ts";
import { spawnSession } from "./libc_spawn.ts";

// $1 is the server's group. `read` returns at EOF (the server is gone); up to 200 x 50 ms for the killed
// processes to be reaped before the groups can be removed. The fallback loop is for kernels without
// cgroup.kill (before 5.14).
const KEEPER_SCRIPT = `read -r _
d="$1"
[ -d "$d" ] || exit 0
if [ -f "$d/cgroup.kill" ]; then echo 1 > "$d/cgroup.kill"
else for f in "$d"/*/cgroup.procs; do for p in $(cat "$f" 2>/dev/null); do kill -9 "$p"; done; done
fi
i=0
while [ $i -lt 200 ] && grep -q '^populated 1' "$d/cgroup.events" 2>/dev/null; do sleep 0.05; i=$((i+1)); done
for c in "$d"/*/; do rmdir "$c" 2>/dev/null; done
rmdir "$d" 2>/dev/null
exit 0`;

const SHELLS = ["/bin/sh", "/usr/bin/sh"];
const O_WRONLY = 1;
const DEV_NULL_OUT = { open: "/dev/null", flags: O_WRONLY };

/**
 * Starts the keeper for `serverDir`; returns its pid, or a reason it could not run (no FFI spawn, no sh).
 * The keeper is spawned as its own session, so signals to the server's terminal group do not reach it.
 */
export function startKeeper(serverDir: string): { pid: number } | { unavailable: string } {
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
      argv: ["exec-server-keeper", "-c", KEEPER_SCRIPT, "exec-server-keeper", serverDir],
      envp: ["PATH=/usr/bin:/bin:/usr/sbin:/sbin"],
      cwd: "/",
      stdio: [{ dup: theirs }, DEV_NULL_OUT, DEV_NULL_OUT],
    });
    // `ours` stays open for the life of this process: its closing is the keeper's signal.
    return { pid };
  } catch (error) {
    closeFd(ours);
    return { unavailable: `spawn failed: ${(error as Error).message}` };
  } finally {
    closeFd(theirs);
  }
}
