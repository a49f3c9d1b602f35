/**
 * Process trees from `/proc`, and the one routine that ends a tree: SIGTERM to the group and every
 * descendant (including those that escaped the group with `setsid`), then SIGKILL after a grace period.
 *
 * With a cgroup per tree (see containment.ts) the group is the tree: every member is signalled, and the
 * SIGKILL is one write to `cgroup.kill`. Without one, descendants are collected from `/proc` while the root
 * is alive, because orphans are re-parented away from it, and each process is remembered with its start
 * time, so a recycled pid is never signalled.
 *
 * @module
 */
import { TaskSpreader } from "../util/task_spreader.ts";
import type { ContainedTree } from "./containment.ts";

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
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return null;
  }
}

async function readStatAsync(pid: number): Promise<StatInfo | null> {
  try {
    return parseStat(await Deno.readTextFile(`/proc/${pid}/stat`));
  } catch {
    return null;
  }
}

function parseStat(text: string): StatInfo | null {
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is state (field 3): ppid is field 4, starttime field 22.
  if (fields[0] === "Z") return null;
  return { ppid: Number(fields[1]), startTime: fields[19] };
}

const HAS_PROC = (() => {
  try {
    return Deno.build.os === "linux" && Deno.statSync("/proc/self/stat").isFile;
  } catch {
    return false;
  }
})();

/**
 * Children by parent pid, from one scan of `/proc` (~20 ms with a thousand processes). A scan younger than
 * {@link SNAPSHOT_MAX_AGE_MS} is reused for a first collection, so a thousand trees terminated in one burst
 * cost a few scans, not one each; the collection after the freeze (see {@link terminateTree}) is fresh.
 */
let snapshot: { takenAt: number; children: Map<number, ProcessIdentity[]> } | null = null;
const SNAPSHOT_MAX_AGE_MS = 100;

function childrenByParent(fresh: boolean): Map<number, ProcessIdentity[]> {
  if (!fresh && snapshot && performance.now() - snapshot.takenAt < SNAPSHOT_MAX_AGE_MS) {
    return snapshot.children;
  }
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
  snapshot = { takenAt: performance.now(), children };
  return children;
}

let scanning: Promise<void> | null = null;
const SCAN_BATCH = 128;
/** Waiters on one scan resume a few per task (each then signals its tree). */
const scanWaiters = new TaskSpreader(8);

/**
 * Makes sure a snapshot younger than {@link SNAPSHOT_MAX_AGE_MS} exists, scanning with async reads so
 * that other clients are served meanwhile; concurrent callers share one scan.
 */
async function recentSnapshot(): Promise<void> {
  if (snapshot && performance.now() - snapshot.takenAt < SNAPSHOT_MAX_AGE_MS) return;
  scanning ??= (async () => {
    const takenAt = performance.now();
    const pids: number[] = [];
    for await (const entry of Deno.readDir("/proc")) {
      const pid = Number(entry.name);
      if (Number.isInteger(pid) && pid > 0) pids.push(pid);
    }
    const children = new Map<number, ProcessIdentity[]>();
    for (let i = 0; i < pids.length; i += SCAN_BATCH) {
      const batch = pids.slice(i, i + SCAN_BATCH);
      const stats = await Promise.all(batch.map(readStatAsync));
      stats.forEach((stat, k) => {
        if (!stat) return;
        const identity = { pid: batch[k], startTime: stat.startTime };
        const list = children.get(stat.ppid);
        if (list) list.push(identity);
        else children.set(stat.ppid, [identity]);
      });
    }
    snapshot = { takenAt, children };
  })().finally(() => (scanning = null));
  await scanning;
  await scanWaiters.turn();
}

/** Every live descendant of `rootPid` (not the root itself), found by walking ppid links in `/proc`. */
export function listDescendants(rootPid: number, fresh = true): ProcessIdentity[] {
  if (!HAS_PROC) return [];
  const children = childrenByParent(fresh);
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

/**
 * This process's open fd numbers (one readdir of /proc/self/fd, no readlink). Only the `Deno.Command`
 * spawn needs it (see {@link stdioPipesOf}); the libc spawn knows its pipes.
 */
export function openFds(): Set<number> {
  const fds = new Set<number>();
  if (!HAS_PROC) return fds;
  try {
    for (const entry of Deno.readDirSync("/proc/self/fd")) fds.add(Number(entry.name));
  } catch {
    // No /proc/self/fd.
  }
  return fds;
}

function pipeTarget(path: string): string | null {
  try {
    const target = Deno.readLinkSync(path);
    return target.startsWith("pipe:") ? target : null;
  } catch {
    return null; // Gone, or not a readable fd.
  }
}

/**
 * The `pipe:[inode]` identities of a freshly spawned child's stdio. Read from the child's own fds 0-2
 * when it is still there (exact); if it already exited (a `setsid cmd & exit` shell can be gone within
 * a millisecond), from the pipe fds this process gained since `fdsBefore` (taken right before the
 * synchronous spawn): the kernel hands out the lowest free numbers, so only the holes in `fdsBefore`
 * and a few numbers above it need a readlink.
 */
export function stdioPipesOf(pid: number, fdsBefore: ReadonlySet<number>): Set<string> {
  const pipes = new Set<string>();
  if (!HAS_PROC) return pipes;
  for (const fd of [0, 1, 2]) {
    const target = pipeTarget(`/proc/${pid}/fd/${fd}`);
    if (target) pipes.add(target);
  }
  if (pipes.size > 0) return pipes;
  let max = -1;
  for (const fd of fdsBefore) if (fd > max) max = fd;
  for (let fd = 0; fd <= max + 8; fd++) {
    if (fdsBefore.has(fd)) continue;
    const target = pipeTarget(`/proc/self/fd/${fd}`);
    if (target) pipes.add(target);
  }
  return pipes;
}

/**
 * Every live process other than this one that holds one of `pipes` (`pipe:[inode]` texts) open. A
 * child's stdio pipes are shared only by its tree, so this finds descendants that escaped with `setsid`
 * and were re-parented to init after the root exited, which the ppid walk can no longer see.
 */
export function listPipeHolders(pipes: ReadonlySet<string>): ProcessIdentity[] {
  if (!HAS_PROC || pipes.size === 0) return [];
  const holders: ProcessIdentity[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === Deno.pid) continue;
    let fds: Iterable<Deno.DirEntry>;
    try {
      fds = Deno.readDirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // Gone, or not ours.
    }
    try {
      for (const fd of fds) {
        let target: string;
        try {
          target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
        } catch {
          continue;
        }
        if (!pipes.has(target)) continue;
        const stat = readStat(pid);
        if (stat) holders.push({ pid, startTime: stat.startTime });
        break;
      }
    } catch {
      // The process exited while we iterated its fds.
    }
  }
  return holders;
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
  /** The child's stdio pipes (`pipe:[inode]`): whoever still holds them belongs to the tree. */
  pipes?: ReadonlySet<string>;
  /** The tree's cgroup: when given, its members are the tree, and `pipes` is not needed. */
  tree?: ContainedTree;
}

const SURVIVOR_POLL_MS = 20;

/**
 * Ends the tree rooted at `rootPid`: SIGTERM everything, wait for the root (and any escaped
 * descendants) up to `graceMs`, then freeze (SIGSTOP), re-collect, SIGKILL and thaw whatever is left.
 */
export async function terminateTree(rootPid: number, options: TerminateTreeOptions): Promise<void> {
  if (options.tree) return await terminateGroup(options.tree, options);
  const rootIdentity = HAS_PROC ? { pid: rootPid, startTime: readStat(rootPid)?.startTime ?? "" } : null;
  // Once the root is gone its orphans are re-parented away: find them by the pipes they still hold.
  // (Scanning every process's fds is costly, so only then.)
  const pipes = rootIdentity?.startTime === "" ? options.pipes : undefined;
  // A recent scan will do for the first collection (what forked since is caught after the freeze).
  if (HAS_PROC && !pipes) await recentSnapshot();
  let descendants = collectTree(rootPid, pipes, false);
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
  if (rootAlive || pipes?.size) descendants = collectTree(rootPid, pipes, true);
  const all = [...new Map([...survivors, ...descendants].map((d) => [d.pid, d])).values()];
  signalTree(rootPid, all, "SIGKILL");
  signalTree(rootPid, all, "SIGCONT");
}

/** {@link terminateTree} for a tree in its own cgroup: SIGTERM every member, wait, then `cgroup.kill`. */
async function terminateGroup(tree: ContainedTree, options: TerminateTreeOptions): Promise<void> {
  if (!options.immediate && options.graceMs > 0 && !tree.isEmpty()) {
    tree.signal("SIGTERM");
    const deadline = Date.now() + options.graceMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.graceMs)));
    await Promise.race([options.rootExited, graceOver]);
    // Members other than the root are not our children (no exit event): poll until gone or the grace ends.
    while (Date.now() < deadline && !tree.isEmpty()) {
      await new Promise((resolve) => setTimeout(resolve, SURVIVOR_POLL_MS));
    }
    clearTimeout(timer);
  }
  if (!tree.isEmpty()) tree.kill();
}

/** Descendants by ppid, plus (when known) holders of the child's pipes: escaped orphans included. */
function collectTree(
  rootPid: number,
  pipes: ReadonlySet<string> | undefined,
  fresh: boolean,
): ProcessIdentity[] {
  const found = listDescendants(rootPid, fresh);
  if (!pipes || pipes.size === 0) return found;
  const seen = new Set(found.map((d) => d.pid));
  for (const holder of listPipeHolders(pipes)) {
    // The holder and its own descendants (which may have redirected their stdio elsewhere).
    for (const member of [holder, ...listDescendants(holder.pid)]) {
      if (member.pid !== rootPid && !seen.has(member.pid)) {
        seen.add(member.pid);
        found.push(member);
      }
    }
  }
  return found;
}
