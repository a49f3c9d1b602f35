/**
 * Whether this host lets a process create cgroup v2 groups below its own (what exec-server's containment
 * needs), probed independently of the server's code: find the cgroup2 mount, make a group, remove it.
 *
 * @module
 */

/** The directory of this process's own cgroup v2 group, or null without a cgroup2 mount. */
export function ownCgroupDir(): string | null {
  try {
    const line = Deno.readTextFileSync("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"));
    if (!line) return null;
    for (const mount of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
      const [left, right] = mount.split(" - ");
      if (!right?.startsWith("cgroup2 ")) continue;
      const mountPoint = left.split(" ")[4];
      const path = line.slice(3);
      return path === "/" ? mountPoint : `${mountPoint}${path}`;
    }
  } catch {
    // No /proc: not Linux.
  }
  return null;
}

/** True when a group can be created (and removed) below this process's own. */
export function cgroupContainmentAvailable(): boolean {
  const dir = ownCgroupDir();
  if (!dir) return false;
  const probe = `${dir}/exec-server-test-probe-${Deno.pid}`;
  try {
    Deno.mkdirSync(probe);
    Deno.removeSync(probe);
    return true;
  } catch {
    return false;
  }
}
