/**
 * cgroup v2 file operations for process containment: find this process's own group, make and remove groups
 * below it, move this process, list, signal and kill a group's members. A cgroup is the one record of a
 * process tree that no child can leave by forking, `setsid` or closing its stdio: membership is inherited
 * and only a write to some group's `cgroup.procs` changes it.
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
 * fork can race. Where that file is missing, or this process is itself inside (a failed move back after a
 * spawn), each member is killed by pid instead, this process spared.
 */
export function killGroup(dir: string): void {
  const members = groupMembers(dir);
  if (!members.includes(Deno.pid)) {
    try {
      Deno.writeTextFileSync(`${dir}/cgroup.kill`, "1");
      return;
    } catch {
      // No cgroup.kill here: by pid.
    }
  }
  signalMembers(dir, "SIGKILL");
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
