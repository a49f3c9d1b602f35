/**
 * Containment of process trees in cgroups v2, where the host lets this process create groups below its own
 * (root on most hosts and containers with a writable cgroup2, or a delegated systemd unit). Each started
 * process gets a group of its own, `<own group>/exec-server.<pid>/p<N>`, so every descendant is found and
 * killed, whatever it did: double-forked, `setsid`, stdio closed. A keeper process ends the whole subtree
 * if this process dies (see `cgroup_keeper.ts`).
 *
 * A child is put into its group at spawn, with no window in which it could fork outside it: this process
 * moves itself into the child's group, spawns (synchronously), and moves back (about 0.4 ms in all). Where
 * groups cannot be made, {@link treeContainment} is null and termination falls back to process groups and
 * `/proc` (see `process_tree.ts`).
 *
 * @module
 */
import { errnoOf, errnoToRpcError } from "../protocol/os_error.ts";
import { log } from "../util/log.ts";
import {
  groupMembers,
  isPopulated,
  killGroup,
  moveSelfTo,
  ownCgroupDir,
  removeGroup,
  signalMembers,
} from "./cgroup.ts";
import { startCgroupKeeper } from "./cgroup_keeper.ts";
import { groupKeeper } from "./group_keeper.ts";

const ENFILE = 23;
const EMFILE = 24;

/** How long {@link ContainedTree.release} waits for killed members to be reaped before it gives up. */
const RELEASE_WAIT_MS = 2_000;
const RELEASE_POLL_MS = 10;

/** One process tree's cgroup. */
export class ContainedTree {
  /** The group's directory in cgroupfs. */
  readonly dir: string;
  #released: Promise<void> | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Pids of every live member. */
  members(): number[] {
    return groupMembers(this.dir);
  }

  /** True when no process of the tree is left. */
  isEmpty(): boolean {
    return !isPopulated(this.dir);
  }

  /** Sends `signal` to every member. */
  signal(signal: Deno.Signal): void {
    signalMembers(this.dir, signal);
  }

  /** SIGKILLs every member at once. */
  kill(): void {
    killGroup(this.dir);
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
  #nextTree = 1;
  /** Set when a move back failed: this process may sit in a tree's group, so no more moves. */
  #broken = false;

  constructor(ownDir: string, serverDir: string) {
    this.#ownDir = ownDir;
    this.#serverDir = serverDir;
  }

  /** The group that holds every tree of this process. */
  get serverDir(): string {
    return this.#serverDir;
  }

  /**
   * Runs `spawn` (which must spawn synchronously) with this process inside a new tree group, so the child
   * starts there, and returns its result with the group. When the group cannot be used, the spawn still
   * happens, uncontained (`tree` null; logged).
   */
  spawnInside<T>(spawn: () => T): { value: T; tree: ContainedTree | null } {
    if (this.#broken) return { value: spawn(), tree: null };
    const dir = `${this.#serverDir}/p${this.#nextTree++}`;
    try {
      Deno.mkdirSync(dir);
      moveSelfTo(dir);
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
      this.#moveBack();
      removeGroup(dir);
      throw error;
    }
    this.#moveBack();
    return { value, tree: new ContainedTree(dir) };
  }

  #moveBack(): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        moveSelfTo(this.#ownDir);
        return;
      } catch (error) {
        if (attempt === 2) {
          this.#broken = true;
          log.error(`cgroup containment: cannot move back to ${this.#ownDir} (${(error as Error).message})`);
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
  const probe = `${serverDir}/probe`;
  try {
    Deno.mkdirSync(serverDir, { recursive: true });
    Deno.mkdirSync(probe);
    moveSelfTo(probe);
    moveSelfTo(own.dir);
    removeGroup(probe);
  } catch (error) {
    removeGroup(probe);
    removeGroup(serverDir);
    log.debug(`cgroup containment unavailable: ${(error as Error).message}`);
    return null;
  }
  let keeper: ReturnType<typeof startCgroupKeeper>;
  try {
    keeper = startCgroupKeeper(serverDir);
  } catch (error) {
    keeper = { unavailable: (error as Error).message };
  }
  if ("unavailable" in keeper) {
    log.warn(
      `cgroup keeper not started (${keeper.unavailable}): if this process is killed, its trees live on`,
    );
  }
  return new CgroupContainment(own.dir, serverDir);
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
