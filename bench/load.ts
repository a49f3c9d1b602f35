/**
 * Load bench: a real server subprocess; 500 concurrent processes in one session, then 50 concurrent
 * connections each running 10 commands. Every output is checked. Prints wall times and the server's
 * peak RSS (VmHWM). Usage: deno run -A bench/load.ts [processes] [connections] [perConnection]
 *
 * @module
 */
import { peakRssKiB } from "../tests/support/process_count.ts";
import { concurrentConnections, concurrentProcesses } from "../tests/support/load.ts";
import { connectWebSocket, startWebSocketServer } from "../tests/support/servers.ts";

const processes = Number(Deno.args[0] ?? 500);
const connections = Number(Deno.args[1] ?? 50);
const perConnection = Number(Deno.args[2] ?? 10);

const server = await startWebSocketServer(["--max-processes", String(Math.max(1024, processes))]);
let failed = false;
try {
  const pid = server.child.pid;
  const baseline = peakRssKiB(pid);
  const peer = await connectWebSocket(server.url!);
  await peer.handshake();
  const a = await concurrentProcesses(peer, processes, 1);
  const afterProcesses = peakRssKiB(pid);
  peer.close();
  const b = await concurrentConnections(server.url!, connections, perConnection);
  const peak = peakRssKiB(pid);
  failed = a.failures.length + b.failures.length > 0;
  console.log(JSON.stringify(
    {
      concurrentProcesses: { processes, wallMs: Math.round(a.wallMs), failures: a.failures.slice(0, 5) },
      concurrentConnections: {
        connections,
        perConnection,
        processes: b.processes,
        wallMs: Math.round(b.wallMs),
        failures: b.failures.slice(0, 5),
      },
      serverPeakRssMiB: {
        baseline: baseline && +(baseline / 1024).toFixed(1),
        afterProcesses: afterProcesses && +(afterProcesses / 1024).toFixed(1),
        final: peak && +(peak / 1024).toFixed(1),
      },
    },
    null,
    2,
  ));
} finally {
  const status = await server.close();
  if (status.code !== 0) {
    console.error(`server exited with ${status.code}: ${server.stderr()}`);
    failed = true;
  }
}
if (failed) Deno.exit(1);
