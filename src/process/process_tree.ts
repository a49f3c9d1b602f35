/**
 * Process trees from `/proc`, and the one routine that ends a tree: SIGTERM to the group and every
 * descendant (including those that escaped the group with `setsid`), then SIGKILL after a grace period.
 *
 * Descendants are collected while the root is alive, because orphans are re-parented away from it.
 * Each process is remembered with its start time, so a recycled pid is never signalled.
 *
 * @module
 */

/** A process identity that survives pid reuse checks. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

interface StatInfo {
  ppid: number;
  startTime: string;
}

function readStat(pid: number): StatInfo | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is state (field 3): ppid is field 4, starttime field 22.
    if (fields[0] === "Z") return null;
    return { ppid: Number(fields[1]), startTime: fields[19] };
  } catch {
    return null;
  }
}

const HAS_PROC = (() => {
  try {
    return Deno.build.os === "linux" && Deno.statSync("/proc/self/stat").isFile;
  } catch {
    return false;
  }
})();

/** Every live descendant of `rootPid` (not the root itself), found by walking ppid links in `/proc`. */
export function listDescendants(rootPid: number): ProcessIdentity[] {
  if (!HAS_PROC) return [];
  const children = new Map<number, ProcessIdentity[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    const identity = { pid, startTime: stat.startTime };
    if (list) list.push(identity);
    else children.set(stat.ppid, [identity]);
  }
  const result: ProcessIdentity[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const child of children.get(pid) ?? []) {
      result.push(child);
      stack.push(child.pid);
    }
  }
  return result;
}

/** True while the identified process exists (and is not a zombie). */
export function isAlive(identity: ProcessIdentity): boolean {
  if (!HAS_PROC) {
    try {
      Deno.kill(identity.pid, "SIGCONT");
      return true;
    } catch {
      return false;
    }
  }
  return readStat(identity.pid)?.startTime === identity.startTime;
}

function signal(target: number, sig: Deno.Signal): void {
  try {
    Deno.kill(target, sig);
  } catch {
    // Gone already, or not ours to signal.
  }
}

/** Sends `sig` to the root's process group and to each remembered descendant that is still the same process. */
export function signalTree(rootPid: number, descendants: readonly ProcessIdentity[], sig: Deno.Signal): void {
  signal(-rootPid, sig);
  for (const d of descendants) if (isAlive(d)) signal(d.pid, sig);
}

/** Options for {@link terminateTree}. */
export interface TerminateTreeOptions {
  /** How long to wait after SIGTERM before SIGKILL. */
  graceMs: number;
  /** Resolves when the root has exited (its status was collected). */
  rootExited: Promise<unknown>;
  /** Skip SIGTERM and kill at once. */
  immediate?: boolean;
}

const SURVIVOR_POLL_MS = 20;

/**
 * Ends the tree rooted at `rootPid`: SIGTERM everything, wait for the root (and any escaped
 * descendants) up to `graceMs`, then freeze (SIGSTOP), re-collect, SIGKILL and thaw whatever is left.
 */
export async function terminateTree(rootPid: number, options: TerminateTreeOptions): Promise<void> {
  let descendants = listDescendants(rootPid);
  const rootIdentity = HAS_PROC ? { pid: rootPid, startTime: readStat(rootPid)?.startTime ?? "" } : null;
  if (!options.immediate && options.graceMs > 0) {
    signalTree(rootPid, descendants, "SIGTERM");
    const deadline = Date.now() + options.graceMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.graceMs)));
    await Promise.race([options.rootExited, graceOver]);
    // Escaped descendants are not our children: poll /proc until they are gone or the grace ends.
    while (Date.now() < deadline && descendants.some(isAlive)) {
      await new Promise((resolve) => setTimeout(resolve, SURVIVOR_POLL_MS));
    }
    clearTimeout(timer);
  }
  const rootAlive = rootIdentity ? rootIdentity.startTime !== "" && isAlive(rootIdentity) : true;
  const survivors = descendants.filter(isAlive);
  if (!rootAlive && survivors.length === 0) {
    signal(-rootPid, "SIGKILL"); // Anything left in the group that /proc did not show us.
    return;
  }
  // Freeze first so nothing can fork between collection and the kill.
  signalTree(rootPid, survivors, "SIGSTOP");
  if (rootAlive) descendants = listDescendants(rootPid);
  const all = [...new Map([...survivors, ...descendants].map((d) => [d.pid, d])).values()];
  signalTree(rootPid, all, "SIGKILL");
  signalTree(rootPid, all, "SIGCONT");
}
