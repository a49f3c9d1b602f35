/**
 * Load bench: a real server subprocess; 500 concurrent processes in one session, then 50 concurrent
 * connections each running 10 commands. Every output is checked. Prints wall times and the server's
 * peak RSS (VmHWM). Usage: deno run -A bench/load.ts [processes] [connections] [perConnection]
 *
 * `deno run -A bench/load.ts --terminate [processes]` instead ends 1000 (or `processes`) sleeps at once,
 * with cgroup containment and with the process-group fallback, and prints the time to the last close, the
 * p99 of another connection's `environment/info` meanwhile, and the survivors.
 *
 * `deno run -A bench/load.ts --idle-sockets [sockets]` starts the server under `ulimit -n 1024`, opens 1100
 * (or `sockets`) idle TCP connections that never send a request and keeps them open, and reports whether the
 * server lived, what an already connected client's `process/start` got meanwhile, how soon a new client is
 * served while the idle sockets are still held, and how many of them the server closed.
 *
 * @module
 */
import { peakRssKiB } from "../tests/support/process_count.ts";
import { concurrentConnections, concurrentProcesses } from "../tests/support/load.ts";
import { connectWebSocket, startWebSocketServer } from "../tests/support/servers.ts";
import { measureMassTermination } from "../tests/support/mass_termination.ts";
import { startUlimitServer } from "../tests/support/ulimit_server.ts";

if (Deno.args[0] === "--idle-sockets") {
  const wanted = Number(Deno.args[1] ?? 1100);
  const server = await startUlimitServer("-n 1024");
  let exited = false;
  server.child.status.then(() => exited = true);
  const conns: Deno.Conn[] = [];
  let startOutcome = "";
  let servedAfter = false;
  let opened = 0;
  let lived = false;
  let servedAfterMs: number | null = null;
  let idleClosed = 0;
  try {
    const peer = await connectWebSocket(server.url);
    await peer.handshake();
    for (let i = 0; i < wanted; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
      } catch {
        break;
      }
    }
    try {
      await peer.call("process/start", {
        processId: "during",
        argv: ["true"],
        cwd: "/tmp",
        env: { PATH: "/usr/bin:/bin" },
        tty: false,
      });
      startOutcome = "started";
    } catch (error) {
      startOutcome = `refused: ${(error as Error).message.slice(0, 80)}`;
    }
    opened = conns.length;
    // The idle sockets stay open on our side: the server must free itself (--max-pending-handshakes,
    // --handshake-timeout) and serve a new client while the attacker still holds them.
    let closedByServer = 0;
    for (const conn of conns) {
      conn.read(new Uint8Array(16)).then((n) => n === null && closedByServer++, () => closedByServer++);
    }
    const heldSince = performance.now();
    for (let attempt = 0; attempt < 100 && !servedAfter && !exited; attempt++) {
      try {
        const fresh = await connectWebSocket(server.url);
        await fresh.handshake();
        fresh.close();
        servedAfter = true;
        servedAfterMs = Math.round(performance.now() - heldSince);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    idleClosed = closedByServer;
    peer.close();
    lived = !exited;
  } finally {
    for (const conn of conns) conn.close();
    await server.close();
  }
  console.log(
    JSON.stringify({
      idleSocketsOpened: opened,
      serverLived: lived,
      startOutcome,
      servedWhileHeld: servedAfter,
      servedAfterMs,
      idleClosedByServer: idleClosed,
    }),
  );
  Deno.exit(lived && servedAfter ? 0 : 1);
}

if (Deno.args[0] === "--terminate") {
  const count = Number(Deno.args[1] ?? 1000);
  let failed = false;
  for (const containment of ["auto", "process-group"] as const) {
    const f = await measureMassTermination(count, containment);
    failed ||= f.survivors > 0;
    console.log(JSON.stringify({
      containment,
      processes: f.processes,
      elapsedMs: Math.round(f.elapsedMs),
      environmentInfoP99Ms: +f.p99Ms.toFixed(1),
      environmentInfoCalls: f.latenciesMs.length,
      survivors: f.survivors,
    }));
  }
  Deno.exit(failed ? 1 : 0);
}

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
