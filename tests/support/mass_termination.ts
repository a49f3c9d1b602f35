/**
 * Ending many process trees at once, measured: `count` sleeps are started in one session, all terminated
 * together, and the time until the last `process/closed` is taken while a separate process polls
 * `environment/info` on another connection. Shared by `tests/mass_termination_test.ts` (300 processes,
 * asserted) and `bench/load.ts --terminate` (1000, reported).
 *
 * @module
 */
import { killMarkedProcesses, MARKER_VAR, newMarker, waitForMarkedCount } from "./process_count.ts";
import { startLatencyProbe } from "./latency_probe.ts";
import { connectWebSocket, startWebSocketServer } from "./servers.ts";

/** `auto` contains trees in cgroups where the host allows; `process-group` forces the fallback. */
export type ContainmentChoice = "auto" | "process-group";

/** What one mass termination took. */
export interface MassTerminationFigures {
  processes: number;
  /** From the first `process/terminate` to the last `process/closed`. */
  elapsedMs: number;
  /** Every `environment/info` round trip of the other connection while the trees were ending. */
  latenciesMs: number[];
  p99Ms: number;
  /** Marked processes still alive 5 s after the last close (0 is the promise). */
  survivors: number;
}

/** Starts `count` sleeps, terminates them all at once and measures; every process is gone afterwards. */
export async function measureMassTermination(
  count: number,
  containment: ContainmentChoice,
): Promise<MassTerminationFigures> {
  const marker = newMarker(`mass-${containment}`);
  const env = containment === "auto" ? undefined : { EXEC_SERVER_CONTAINMENT: containment };
  const server = await startWebSocketServer(
    ["--terminate-grace", "2", "--max-processes", String(Math.max(2000, count))],
    env,
  );
  try {
    const peer = await connectWebSocket(server.url!);
    await peer.handshake();
    const starts = [];
    for (let i = 0; i < count; i++) {
      starts.push(peer.call("process/start", {
        processId: `p${i}`,
        argv: ["sleep", "1000"],
        cwd: "/tmp",
        env: { PATH: "/usr/bin:/bin", [MARKER_VAR]: marker },
        tty: false,
      }));
    }
    await Promise.all(starts);
    await waitForMarkedCount(marker, (n) => n === count, `${count} sleeps`, 120_000);

    const probe = await startLatencyProbe(server.url!);
    const started = performance.now();
    const terminations = [];
    for (let i = 0; i < count; i++) {
      terminations.push(peer.call("process/terminate", { processId: `p${i}` }));
    }
    const replies = await Promise.all(terminations);
    if (!replies.every((r) => r.running === true)) throw new Error("a process had ended before terminate");
    let closed = 0;
    let counted = 0;
    await peer.until(
      () => {
        // Count only what arrived since the last wake: rescanning thousands of notifications on every
        // wake would be the measurement's own stall.
        for (; counted < peer.notifications.length; counted++) {
          if (peer.notifications[counted].method === "process/closed") closed++;
        }
        return closed === count;
      },
      `${count} process/closed`,
      60_000,
    );
    const elapsedMs = performance.now() - started;
    const latenciesMs = (await probe.stop()).sort((a, b) => a - b);
    let survivors = 0;
    try {
      await waitForMarkedCount(marker, (n) => (survivors = n) === 0, "every sleep to be gone", 5_000);
    } catch {
      // survivors holds the last count seen; the caller judges it.
    }
    const p99Ms = latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(latenciesMs.length * 0.99))] ?? NaN;
    peer.close();
    return { processes: count, elapsedMs, latenciesMs, p99Ms, survivors };
  } finally {
    killMarkedProcesses(marker);
    await server.close();
  }
}
