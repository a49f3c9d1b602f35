/**
 * cgroup v2 file operations for process containment: find this process's own group, make and remove groups
 * below it, move this process (or only its calling thread, within a threaded subtree), list, signal, freeze
 * and kill a group's members. A cgroup is the one record of a process tree that no child can leave by
 * forking, `setsid` or closing its stdio: membership is inherited and only a write to some group's
 * `cgroup.procs` or `cgroup.threads` changes it.
 *
 * Everything is synchronous (small files in cgroupfs, answered by the kernel at once) and Linux only.
 *
 * @module
 */

/** This process's own cgroup v2 directory (from /proc/self/cgroup and the cgroup2 mount), or a reason. */
export function ownCgroupDir(): { dir: string } | { unavailable: string } {
  let cgroupLine: string | undefined;
  let mounts: string;
  try {
    cgroupLine = Deno.readTextFileSync("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"));
    mounts = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return { unavailable: "no /proc (not Linux)" };
  }
  if (!cgroupLine) return { unavailable: "this process is in no cgroup v2 group" };
  const path = cgroupLine.slice(3);
  for (const line of mounts.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right?.startsWith("cgroup2 ")) continue;
    // mountinfo: id parent major:minor root mount-point ...; the root of a cgroupns mount is "/".
    const [, , , root, mountPoint] = left.split(" ");
    if (root !== "/") continue;
    return { dir: path === "/" ? mountPoint : `${mountPoint}${path}` };
  }
  return { unavailable: "no cgroup2 file system is mounted" };
}

/** Moves this whole process (every thread) into the group at `dir`. Throws on refusal. */
export function moveSelfTo(dir: string): void {
  Deno.writeTextFileSync(`${dir}/cgroup.procs`, "0");
}

/** The group's type (`domain`, `domain threaded`, `threaded`, `domain invalid`); `domain` for the root. */
export function groupType(dir: string): string {
  try {
    return Deno.readTextFileSync(`${dir}/cgroup.type`).trim();
  } catch {
    return "domain"; // The root group has no cgroup.type.
  }
}

/** Makes the (new, empty) group at `dir` a threaded one. Throws on refusal. */
export function makeThreaded(dir: string): void {
  Deno.writeTextFileSync(`${dir}/cgroup.type`, "threaded");
}

/**
 * Moves the calling thread alone into the group at `dir`, of the same threaded subtree. Unlike a whole
 * process's move, the kernel takes no global lock for it, so it never waits for an RCU grace period.
 */
export function moveThreadTo(dir: string): void {
  Deno.writeTextFileSync(`${dir}/cgroup.threads`, "0");
}

/** Moves thread `tid` (of this process) into the group at `dir`, of the same threaded subtree. */
export function moveThreadIdTo(dir: string, tid: number): void {
  Deno.writeTextFileSync(`${dir}/cgroup.threads`, String(tid));
}

/** The thread ids in the threaded group at `dir` (not its subgroups); empty when it is gone. */
export function groupThreads(dir: string): number[] {
  try {
    const tids: number[] = [];
    for (const line of Deno.readTextFileSync(`${dir}/cgroup.threads`).split("\n")) {
      if (line) tids.push(Number(line));
    }
    return tids;
  } catch {
    return [];
  }
}

/** The thread ids in the threaded group at `dir` and in every group below it; empty when it is gone. */
export function subtreeThreads(dir: string): number[] {
  const tids: number[] = [];
  const walk = (group: string) => {
    tids.push(...groupThreads(group));
    try {
      for (const entry of Deno.readDirSync(group)) if (entry.isDirectory) walk(`${group}/${entry.name}`);
    } catch {
      // Gone meanwhile.
    }
  };
  walk(dir);
  return tids;
}

/** True when `tid` is one of this process's own threads. */
export function isOwnThread(tid: number): boolean {
  try {
    Deno.statSync(`/proc/self/task/${tid}`);
    return true;
  } catch {
    return false;
  }
}

/** The process (thread group) that thread `tid` belongs to, or null once it is gone. */
export function processOfThread(tid: number): number | null {
  try {
    const match = /^Tgid:\s*(\d+)$/m.exec(Deno.readTextFileSync(`/proc/${tid}/status`));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Freezes the group at `dir` and every group below it (no member runs or forks until thawed). */
export function freezeGroup(dir: string): boolean {
  try {
    Deno.writeTextFileSync(`${dir}/cgroup.freeze`, "1");
    return true;
  } catch {
    return false;
  }
}

/** The pids in the group at `dir` (not its subgroups); empty when the group is gone. */
export function groupMembers(dir: string): number[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/cgroup.procs`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const line of text.split("\n")) if (line) pids.push(Number(line));
  return pids;
}

/** True while any process lives in the group at `dir` or below it. */
export function isPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(Deno.readTextFileSync(`${dir}/cgroup.events`));
  } catch {
    return false; // Gone.
  }
}

/** Sends `signal` to every member of the group, never to this process. */
export function signalMembers(dir: string, signal: Deno.Signal): void {
  for (const pid of groupMembers(dir)) {
    if (pid === Deno.pid) continue;
    try {
      Deno.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
}

/**
 * SIGKILLs every process in the group and below it: one write to `cgroup.kill` (Linux 5.14+), which no
 * fork can race. Where that write is refused (no such file, or a threaded group), or this process is
 * itself inside (a failed move back after a spawn), each member is killed by pid or thread id instead,
 * this process spared.
 */
export function killGroup(dir: string): void {
  const members = groupMembers(dir);
  if (!members.includes(Deno.pid) && !subtreeThreads(dir).some(isOwnThread)) {
    try {
      Deno.writeTextFileSync(`${dir}/cgroup.kill`, "1");
      return;
    } catch {
      // No cgroup.kill here: by pid.
    }
  }
  signalMembers(dir, "SIGKILL");
  for (const tid of subtreeThreads(dir)) {
    if (isOwnThread(tid)) continue;
    try {
      Deno.kill(tid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
}

/** Removes an empty group; false while it still has members (or is already gone). */
export function removeGroup(dir: string): boolean {
  try {
    Deno.removeSync(dir);
    return true;
  } catch {
    return false;
  }
}
