/**
 * Where cgroups cannot be used, the group keeper (a keeper, see `death_keeper.ts`) ends the process
 * groups of this process's children when it dies by any means, SIGKILL included. Each child leads a group
 * of its own (it is spawned with `setsid`); this process tells the keeper `+PGID` when it starts one and
 * `-PGID` once the group's entry is released, over the pipe only it can write to. At EOF the keeper
 * SIGKILLs every group still listed.
 *
 * What this cannot reach: descendants that left their group (`setsid`, `setpgid`) and were not yet
 * found by a termination. Only a cgroup holds those (see `containment.ts`).
 *
 * @module
 */
import { log } from "../util/log.ts";
import { startKeeper } from "./death_keeper.ts";
import { waitWritable, writeNonBlocking } from "./libc_fds.ts";

// The set is a space-separated string with spaces at both ends, so " PGID " finds one exactly.
const GROUP_KEEPER_SCRIPT = `set_=" "
while read -r line; do
  case "$line" in
  +*) set_="$set_\${line#+} " ;;
  -*) p="\${line#-}"
      case "$set_" in *" $p "*) set_="\${set_%% $p *} \${set_#* $p }" ;; esac ;;
  esac
done
for p in $set_; do kill -KILL -$p 2>/dev/null; done
exit 0`;

const encoder = new TextEncoder();
const WRITABLE_WAIT_MS = 1_000;

/** Tells the group keeper which process groups to end if this process dies. */
export class GroupKeeper {
  readonly #fd: number;
  #pending = "";
  #flushing = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Lists `pgid` with the keeper; the returned function takes it off (call it once the group is done). */
  watch(pgid: number): () => void {
    this.#send(`+${pgid}\n`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#send(`-${pgid}\n`);
    };
  }

  #send(line: string): void {
    this.#pending += line;
    if (!this.#flushing) this.#flush();
  }

  // Writes what the pipe takes now; the rest waits (off the event loop) until the keeper has read.
  #flush(): void {
    while (this.#pending.length > 0) {
      const bytes = encoder.encode(this.#pending);
      const written = writeNonBlocking(this.#fd, bytes);
      if (written < 0) {
        this.#flushing = true;
        void waitWritable(this.#fd, WRITABLE_WAIT_MS).then((state) => {
          this.#flushing = false;
          if (state === "closed") {
            log.warn("group keeper gone: if this process is killed, its process groups live on");
            this.#pending = "";
            return;
          }
          this.#flush();
        });
        return;
      }
      // Lines are ASCII, so bytes and characters agree.
      this.#pending = this.#pending.slice(written);
    }
  }
}

let keeper: GroupKeeper | null | undefined;

/** The group keeper of this process, started on first use; null where it cannot run (logged once). */
export function groupKeeper(): GroupKeeper | null {
  if (keeper !== undefined) return keeper;
  let started: ReturnType<typeof startKeeper>;
  try {
    started = startKeeper(GROUP_KEEPER_SCRIPT, "");
  } catch (error) {
    started = { unavailable: (error as Error).message };
  }
  if ("unavailable" in started) {
    log.warn(
      `group keeper not started (${started.unavailable}): if this process is killed, its trees live on`,
    );
    keeper = null;
  } else {
    keeper = new GroupKeeper(started.fd);
  }
  return keeper;
}
