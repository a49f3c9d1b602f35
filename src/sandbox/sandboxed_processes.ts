/**
 * The processes this server runs under bubblewrap (`process/start` with a restricted sandbox, and the fs
 * helper), so a connection held by one of them can be told apart from any other (see `peer_check.ts`).
 *
 * Only each sandbox's root is recorded: the bwrap process the server spawned. Everything that runs in
 * that sandbox descends from it: the sandbox has its own pid namespace, so orphans are re-parented to
 * the namespace's init (bwrap's child), never out of the tree, and when that init exits the kernel
 * kills the whole namespace. A root is remembered with its start time, so a recycled pid never counts,
 * and is forgotten lazily once it is gone.
 *
 * @module
 */

/** A process identity that survives pid reuse. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** `/proc/<pid>/stat`: parent pid and start time; null when gone or a zombie. */
export function procStat(pid: number): { ppid: number; startTime: string } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null;
    return { ppid: Number(fields[1]), startTime: fields[19] };
  } catch {
    return null;
  }
}

const roots = new Map<number, string>();

/**
 * How long connection checks stay armed after the last sandbox root was forgotten. A sandboxed process
 * can write a whole session into a connection, close its end and exit; the server may read that
 * request only after the sandbox is gone. Such a connection's client end lingers (FIN_WAIT2, no owner)
 * for `net.ipv4.tcp_fin_timeout`, 60 s by default, and is refused while checks are armed.
 */
export const ARMED_AFTER_EXIT_MS = 60_000;
let armedUntil = 0;

function forget(pid: number): void {
  if (roots.delete(pid)) armedUntil = performance.now() + ARMED_AFTER_EXIT_MS;
}

/** Forgets every root and disarms the checks (tests). */
export function resetSandboxedProcesses(): void {
  roots.clear();
  armedUntil = 0;
}

/** Records `pid` (just spawned: a bwrap process) as the root of a sandbox. */
export function trackSandboxedProcess(pid: number): void {
  const stat = procStat(pid);
  if (stat) roots.set(pid, stat.startTime);
}

/** Forgets a sandbox root (it is also forgotten by itself once it has exited). */
export function untrackSandboxedProcess(pid: number): void {
  forget(pid);
}

/**
 * True while a sandbox root is recorded or one was forgotten less than {@link ARMED_AFTER_EXIT_MS} ago:
 * only then do connections need checking. One map lookup and one clock read otherwise.
 */
export function peerChecksArmed(): boolean {
  return roots.size > 0 || performance.now() < armedUntil;
}

/** The sandbox roots still alive (pid to start time); dead or recycled ones are forgotten. */
export function liveSandboxRoots(): Map<number, string> {
  for (const [pid, startTime] of roots) {
    if (procStat(pid)?.startTime !== startTime) forget(pid);
  }
  return new Map(roots);
}

/**
 * The sandbox root `pid` runs under (itself or its nearest recorded ancestor), `"none"` when it runs in
 * none of them, or `"unknown"` when the parent chain could not be read (a process on it kept vanishing
 * while we walked: callers must then assume the worst). Walks parent links up to init.
 */
export function sandboxRootOf(
  pid: number,
  live: ReadonlyMap<number, string>,
): ProcessIdentity | "none" | "unknown" {
  // A parent that exits mid-walk re-parents its children (inside a sandbox: to the sandbox's init, still
  // in the tree), so walk again from the start.
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = walkUp(pid, live);
    if (found !== "vanished") return found;
  }
  return "unknown";
}

function walkUp(
  pid: number,
  live: ReadonlyMap<number, string>,
): ProcessIdentity | "none" | "unknown" | "vanished" {
  let current = pid;
  for (let steps = 0; current > 1; steps++) {
    if (steps === 65536) return "unknown"; // deeper than any real tree: do not guess
    const stat = procStat(current);
    if (!stat) return "vanished";
    if (live.get(current) === stat.startTime) return { pid: current, startTime: stat.startTime };
    if (current === Deno.pid) return "none"; // the server itself: above every sandbox
    current = stat.ppid;
  }
  return "none";
}
