/**
 * Load scenarios shared by `tests/limits_load_test.ts` (light) and `bench/load.ts` (full): many
 * concurrent processes in one session, and many connections each running commands, every output checked.
 *
 * @module
 */
import { withTimeout } from "./waiting.ts";
import { connectWebSocket } from "./servers.ts";
import { outputText, type RpcPeer } from "./rpc_peer.ts";
import { bashStart } from "./process_start.ts";

/** Result of one scenario: wrong outputs (must be empty) and wall time. */
export interface LoadResult {
  processes: number;
  failures: string[];
  wallMs: number;
}

/**
 * `count` processes started at once in one session; each sleeps `holdSec` (so they all run together),
 * then prints its own line and exits with its index mod 256.
 */
export async function concurrentProcesses(peer: RpcPeer, count: number, holdSec = 0.5): Promise<LoadResult> {
  const started = performance.now();
  const failures: string[] = [];
  await withTimeout(
    Promise.all(
      Array.from(
        { length: count },
        (_, i) =>
          peer.call("process/start", bashStart(`c${i}`, `sleep ${holdSec}; echo out-${i}; exit ${i % 256}`)),
      ),
    ),
    60_000,
    `${count} process/start`,
  );
  await withTimeout(
    Promise.all(Array.from({ length: count }, async (_, i) => {
      const events = await peer.waitClosed(`c${i}`, 120_000);
      const text = outputText(events, "stdout");
      const exited = events.find((e) => e.method === "process/exited");
      if (text !== `out-${i}\n` || exited?.params.exitCode !== i % 256) {
        failures.push(`c${i}: ${JSON.stringify(text)} exit ${exited?.params.exitCode}`);
      }
    })),
    150_000,
    `${count} processes to close`,
  );
  return { processes: count, failures, wallMs: performance.now() - started };
}

/** `connections` WebSocket clients, each with its own session, each running `perConnection` commands. */
export async function concurrentConnections(
  url: string,
  connections: number,
  perConnection: number,
): Promise<LoadResult> {
  const started = performance.now();
  const failures: string[] = [];
  const peers: RpcPeer[] = [];
  try {
    await withTimeout(
      Promise.all(Array.from({ length: connections }, async (_, c) => {
        const peer = await connectWebSocket(url);
        peers.push(peer);
        await peer.handshake();
        for (let k = 0; k < perConnection; k++) {
          // Reuses process ids across sessions on purpose: each session is its own namespace.
          await peer.call(
            "process/start",
            bashStart(`job-${k}`, `printf 'conn-${c}-job-${k}\\n'; head -c 10000 /dev/zero | wc -c`),
          );
        }
        for (let k = 0; k < perConnection; k++) {
          const text = outputText(await peer.waitClosed(`job-${k}`, 120_000), "stdout");
          if (text !== `conn-${c}-job-${k}\n10000\n`) {
            failures.push(`conn ${c} job ${k}: ${JSON.stringify(text)}`);
          }
        }
      })),
      150_000,
      `${connections} connections`,
    );
  } finally {
    for (const peer of peers) peer.close();
  }
  return { processes: connections * perConnection, failures, wallMs: performance.now() - started };
}
