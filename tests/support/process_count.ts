/**
 * Counting live processes by a marker string in their argv or environment (via `/proc`), so tests can
 * prove that every shutdown path leaves nothing behind — including descendants that escaped the process
 * group with `setsid` (they inherit the environment, so an env marker follows them).
 *
 * @module
 */

/** A fresh marker: put it in a child's env (`EXEC_SERVER_TEST_MARKER=<marker>`) or argv. */
export function newMarker(label = "m"): string {
  return `xs-${label}-${crypto.randomUUID()}`;
}

/** The env variable tests use to carry a marker. */
export const MARKER_VAR = "EXEC_SERVER_TEST_MARKER";

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** True if the process is a zombie (dead, only its status left) or gone. */
function isDead(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return true;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state === "Z" || state === "X";
}

/** Pids of live (non-zombie) processes whose argv or environment contains `marker`. */
export function findMarkedProcesses(marker: string): number[] {
  const found: number[] = [];
  const self = Deno.pid;
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === self) continue;
    const cmdline = readText(`/proc/${pid}/cmdline`);
    const environ = cmdline?.includes(marker) ? null : readText(`/proc/${pid}/environ`);
    if (!cmdline?.includes(marker) && !environ?.includes(marker)) continue;
    if (!isDead(pid)) found.push(pid);
  }
  return found;
}

/** Number of live processes carrying `marker`. */
export function countMarkedProcesses(marker: string): number {
  return findMarkedProcesses(marker).length;
}

/**
 * Polls `/proc` (every 25 ms) until `predicate(count)` holds; throws with the last count after
 * `timeoutMs`. `/proc` has no change events, so a short bounded poll is the only way to observe it.
 */
export async function waitForMarkedCount(
  marker: string,
  predicate: (count: number) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = countMarkedProcesses(marker);
    if (predicate(count)) return count;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (marked processes: ${count})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Kills every process still carrying `marker` (test cleanup after a failure; never in the happy path). */
export function killMarkedProcesses(marker: string): number {
  const pids = findMarkedProcesses(marker);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  return pids.length;
}

/** `VmHWM` (peak resident set) of a process in KiB, or null if unavailable. */
export function peakRssKiB(pid: number): number | null {
  const status = readText(`/proc/${pid}/status`);
  const match = status && /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) : null;
}
