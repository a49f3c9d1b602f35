/**
 * Containment of process trees in cgroups v2, where the host lets this process create groups below its own
 * (root on most hosts and containers with a writable cgroup2, or a delegated systemd unit). Each started
 * process gets a group of its own, `<own group>/exec-server.<pid>/p<N>`, so every descendant is found and
 * killed, whatever it did: double-forked, `setsid`, stdio closed. A keeper process ends the whole subtree
 * if this process dies (see `cgroup_keeper.ts`).
 *
 * A child is put into its group at spawn, with no window in which it could fork outside it: the calling
 * thread moves into the child's group, spawns (synchronously) and moves back. Where the host allows it,
 * the server's group is the root of a threaded subtree: this process moves into it once, each tree's group
 * is threaded, and only the spawning thread moves (about 0.1 ms). A whole-process move instead takes the
 * kernel's global cgroup lock, which after ~25 ms without moves waits for an RCU grace period: 6-30 ms of
 * blocked event loop per spawn. Where threaded groups are refused, whole-process moves remain the way
 * (`domain` mode). Where groups cannot be made at all, {@link treeContainment} is null and termination
 * falls back to process groups and `/proc` (see `process_tree.ts`).
 *
 * @module
 */
import { errnoOf, errnoToRpcError } from "../protocol/os_error.ts";
import { log } from "../util/log.ts";
import {
  freezeGroup,
  groupMembers,
  groupThreads,
  groupType,
  isOwnThread,
  isPopulated,
  killGroup,
  makeThreaded,
  moveSelfTo,
  moveThreadIdTo,
  moveThreadTo,
  ownCgroupDir,
  processOfThread,
  removeGroup,
  signalMembers,
  subtreeThreads,
} from "./cgroup.ts";
import { closeFd } from "./libc_fds.ts";
import { startCgroupKeeper } from "./cgroup_keeper.ts";
import { groupKeeper } from "./group_keeper.ts";

const ENFILE = 23;
const EMFILE = 24;

/** How long {@link ContainedTree.release} waits for killed members to be reaped before it gives up. */
const RELEASE_WAIT_MS = 2_000;
const RELEASE_POLL_MS = 10;

/** How trees are grouped: threaded groups (only the spawning thread moves) or whole-process moves. */
export type ContainmentMode = "threaded" | "domain";

/** One process tree's cgroup. */
export class ContainedTree {
  /** The group's directory in cgroupfs. */
  readonly dir: string;
  readonly #threaded: boolean;
  #released: Promise<void> | null = null;

  constructor(dir: string, mode: ContainmentMode = "domain") {
    this.dir = dir;
    this.#threaded = mode === "threaded";
  }

  /** Pids of every live member (in a threaded tree, of its subgroups too), never this process. */
  members(): number[] {
    if (!this.#threaded) return groupMembers(this.dir).filter((pid) => pid !== Deno.pid);
    const pids = new Set<number>();
    for (const tid of subtreeThreads(this.dir)) {
      const pid = processOfThread(tid);
      if (pid !== null && pid !== Deno.pid) pids.add(pid);
    }
    return [...pids];
  }

  /** True when no process of the tree is left. */
  isEmpty(): boolean {
    return !isPopulated(this.dir);
  }

  /** Sends `signal` to every member. */
  signal(signal: Deno.Signal): void {
    if (!this.#threaded) return signalMembers(this.dir, signal);
    for (const pid of this.members()) {
      try {
        Deno.kill(pid, signal);
      } catch {
        // Exited meanwhile.
      }
    }
  }

  /**
   * SIGKILLs every member at once. A threaded group has no `cgroup.kill`: it is frozen first (no member
   * forks once frozen, and SIGKILL still ends frozen tasks), then each thread is killed, a few passes for
   * forks that were in flight as the freeze began.
   */
  kill(): void {
    if (!this.#threaded) return killGroup(this.dir);
    const tids = subtreeThreads(this.dir);
    // Never freeze a group one of our own threads is in (a failed move back): that would freeze us.
    if (!tids.some(isOwnThread)) freezeGroup(this.dir);
    for (let pass = 0; pass < 3 && tids.length > 0; pass++) {
      for (const tid of tids) {
        if (isOwnThread(tid)) continue;
        try {
          Deno.kill(tid, "SIGKILL"); // kill(2) with a thread id signals its whole process
        } catch {
          // Exited meanwhile.
        }
      }
      tids.splice(0, tids.length, ...subtreeThreads(this.dir).filter((tid) => !isOwnThread(tid)));
    }
  }

  /**
   * Kills whatever is left and removes the group once the kernel has reaped its members. Idempotent;
   * resolves when the group is gone (or after {@link RELEASE_WAIT_MS}, leaving it to the keeper).
   */
  release(): Promise<void> {
    this.#released ??= (async () => {
      if (!this.isEmpty()) this.kill();
      const deadline = Date.now() + RELEASE_WAIT_MS;
      while (!removeGroup(this.dir) && Date.now() < deadline) {
        if (!this.isEmpty()) this.kill(); // Forked between the kill and now: again.
        await new Promise((resolve) => setTimeout(resolve, RELEASE_POLL_MS));
      }
    })();
    return this.#released;
  }
}

/** Makes a group per spawned tree below this server's own group. */
export class CgroupContainment {
  readonly #ownDir: string;
  readonly #serverDir: string;
  readonly mode: ContainmentMode;
  #nextTree = 1;
  /** Set when a move back failed: this process may sit in a tree's group, so no more moves. */
  #broken = false;

  /**
   * `ownDir` is where this process goes back to after a spawn in `domain` mode; in `threaded` mode this
   * process lives in `serverDir`, the root of the trees' threaded subtree.
   */
  constructor(ownDir: string, serverDir: string, mode: ContainmentMode = "domain") {
    this.#ownDir = ownDir;
    this.#serverDir = serverDir;
    this.mode = mode;
  }

  /** The group that holds every tree of this process. */
  get serverDir(): string {
    return this.#serverDir;
  }

  /**
   * Runs `spawn` (which must spawn synchronously) with this process (or, threaded, this thread) inside a
   * new tree group, so the child starts there, and returns its result with the group. When the group
   * cannot be used, the spawn still happens, uncontained (`tree` null; logged).
   */
  spawnInside<T extends { readonly pid: number }>(spawn: () => T): { value: T; tree: ContainedTree | null } {
    if (this.#broken) return { value: spawn(), tree: null };
    const dir = `${this.#serverDir}/p${this.#nextTree++}`;
    try {
      Deno.mkdirSync(dir);
      if (this.mode === "threaded") {
        makeThreaded(dir);
        moveThreadTo(dir);
      } else {
        moveSelfTo(dir);
      }
    } catch (error) {
      removeGroup(dir);
      // Out of descriptors: the spawn needs more of them anyway; refuse rather than start uncontained.
      const errno = errnoOf(error);
      if (errno === EMFILE || errno === ENFILE) throw errnoToRpcError(errno);
      log.warn(`cgroup containment: cannot use ${dir} (${(error as Error).message}); spawning uncontained`);
      return { value: spawn(), tree: null };
    }
    let value: T;
    try {
      value = spawn();
    } catch (error) {
      this.#moveBack(dir, null);
      removeGroup(dir);
      throw error;
    }
    this.#moveBack(dir, value.pid);
    return { value, tree: new ContainedTree(dir, this.mode) };
  }

  /** Moves back out of `treeDir`, whose only member should now be the child `childPid`. */
  #moveBack(treeDir: string, childPid: number | null): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (this.mode === "domain") {
          moveSelfTo(this.#ownDir);
          return;
        }
        moveThreadTo(this.#serverDir);
        // A thread the runtime started during the spawn would have been born in the tree's group.
        for (const tid of groupThreads(treeDir)) {
          if (tid !== childPid && isOwnThread(tid)) moveThreadIdTo(this.#serverDir, tid);
        }
        return;
      } catch (error) {
        if (attempt === 2) {
          this.#broken = true;
          log.error(`cgroup containment: cannot move back out of ${treeDir} (${(error as Error).message})`);
        }
      }
    }
  }
}

let containment: CgroupContainment | null | undefined;

/**
 * This process's containment, set up on first use (and then shared by every server in the process), or
 * null where cgroups v2 cannot be used here (the reason is logged once at debug level). `serve` calls it
 * at start, before clients can take the descriptors the keeper's pipe needs.
 */
export function treeContainment(): CgroupContainment | null {
  if (containment === undefined) containment = openContainment();
  return containment;
}

/** How trees are contained here: `cgroup` (v2 groups, with or without a keeper) or `process-group`. */
export function containmentMode(): "cgroup" | "process-group" {
  if (treeContainment()) return "cgroup";
  groupKeeper(); // started now, while descriptors are free
  return "process-group";
}

function openContainment(): CgroupContainment | null {
  if (Deno.env.get("EXEC_SERVER_CONTAINMENT") === "process-group") return null;
  const own = ownCgroupDir();
  if ("unavailable" in own) {
    log.debug(`cgroup containment unavailable: ${own.unavailable}`);
    return null;
  }
  removeStaleGroups(own.dir);
  const serverDir = `${own.dir}/exec-server.${Deno.pid}`;
  try {
    Deno.mkdirSync(serverDir, { recursive: true });
  } catch (error) {
    log.debug(`cgroup containment unavailable: ${(error as Error).message}`);
    return null;
  }
  // Started before this process moves into serverDir: the keeper must stay outside what it kills.
  let keeper: ReturnType<typeof startCgroupKeeper>;
  try {
    keeper = startCgroupKeeper(serverDir);
  } catch (error) {
    keeper = { unavailable: (error as Error).message };
  }
  const threaded = enterThreadedSubtree(own.dir, serverDir);
  const mode: ContainmentMode | null = threaded === true ? "threaded" : probeDomainMoves(serverDir, own.dir);
  if (mode === null) {
    removeGroup(serverDir);
    if (!("unavailable" in keeper)) closeFd(keeper.fd); // the keeper finds no group and exits
    return null;
  }
  if (mode === "domain") log.debug(`cgroup containment by whole-process moves: ${threaded}`);
  if ("unavailable" in keeper) {
    log.warn(
      `cgroup keeper not started (${keeper.unavailable}): if this process is killed, its trees live on`,
    );
  }
  return new CgroupContainment(own.dir, serverDir, mode);
}

/**
 * Moves this process into `serverDir` and checks that its threads can move into a threaded group below
 * it: true, or the reason it cannot (this process back in `ownDir`). Inside a threaded subtree already
 * (a server started by a contained server), `serverDir` is itself made threaded.
 */
function enterThreadedSubtree(ownDir: string, serverDir: string): true | string {
  const ownType = groupType(ownDir);
  const probe = `${serverDir}/probe`;
  let moved = false;
  try {
    if (ownType === "threaded" || ownType === "domain threaded") makeThreaded(serverDir);
    else if (ownType !== "domain") return `own group is ${ownType}`;
    moveSelfTo(serverDir);
    moved = true;
    Deno.mkdirSync(probe);
    makeThreaded(probe);
    moveThreadTo(probe);
    moveThreadTo(serverDir);
    removeGroup(probe);
    return true;
  } catch (error) {
    if (moved) {
      try {
        moveThreadTo(serverDir);
        moveSelfTo(ownDir);
      } catch {
        // Reported below by the domain probe, which needs this process back in ownDir.
      }
    }
    removeGroup(probe);
    return `threaded groups refused: ${(error as Error).message}`;
  }
}

/** Checks that this process can move into a group below `serverDir` and back: `domain`, or null. */
function probeDomainMoves(serverDir: string, ownDir: string): "domain" | null {
  const probe = `${serverDir}/probe`;
  try {
    Deno.mkdirSync(probe);
    moveSelfTo(probe);
    moveSelfTo(ownDir);
    removeGroup(probe);
    return "domain";
  } catch (error) {
    removeGroup(probe);
    log.debug(`cgroup containment unavailable: ${(error as Error).message}`);
    return null;
  }
}

/** Groups left by exec-servers that died without their keeper (both killed): their trees end now. */
function removeStaleGroups(ownDir: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(ownDir)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^exec-server\.(\d+)$/.exec(entry.name);
    if (!entry.isDirectory || !match || isProcessAlive(Number(match[1]))) continue;
    const dir = `${ownDir}/${entry.name}`;
    killGroup(dir);
    try {
      for (const child of Deno.readDirSync(dir)) if (child.isDirectory) removeGroup(`${dir}/${child.name}`);
    } catch {
      // Gone meanwhile.
    }
    removeGroup(dir);
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
