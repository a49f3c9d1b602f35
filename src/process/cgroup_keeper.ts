/**
 * The cgroup keeper: a keeper (`death_keeper.ts`) outside the server's cgroup subtree that ends every
 * process the server started when the server dies by any means, SIGKILL included: one write to
 * `cgroup.kill`, a bounded wait for the subtree to empty, and the groups removed. After a clean shutdown
 * it finds the groups gone and just exits.
 *
 * @module
 */
import { startKeeper } from "./death_keeper.ts";

// $1 is the server's group. `read` returns at EOF (the server is gone); up to 200 x 50 ms for the killed
// processes to be reaped before the groups can be removed. The fallback (freeze, then kill every thread)
// is for kernels without cgroup.kill (before 5.14) and for a server group that is itself threaded (a
// server started inside another's tree), where cgroup.kill is refused.
const KEEPER_SCRIPT = `read -r _
d="$1"
[ -d "$d" ] || exit 0
if ! { echo 1 > "$d/cgroup.kill"; } 2>/dev/null; then
  { echo 1 > "$d/cgroup.freeze"; } 2>/dev/null
  for f in $(find "$d" -name cgroup.threads -o -name cgroup.procs); do
    for p in $(cat "$f" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
fi
i=0
while [ $i -lt 200 ] && grep -q '^populated 1' "$d/cgroup.events" 2>/dev/null; do sleep 0.05; i=$((i+1)); done
for c in "$d"/*/; do rmdir "$c" 2>/dev/null; done
rmdir "$d" 2>/dev/null
exit 0`;

/**
 * Starts the keeper for `serverDir` (see `death_keeper.ts`); returns its pid, or a reason it could not
 * run.
 */
export function startCgroupKeeper(serverDir: string): { pid: number; fd: number } | { unavailable: string } {
  return startKeeper(KEEPER_SCRIPT, serverDir);
}
