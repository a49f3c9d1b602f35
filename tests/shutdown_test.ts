import assert from "node:assert/strict";
import {
  countMarkedProcesses,
  killMarkedProcesses,
  newMarker,
  waitForMarkedCount,
} from "./support/process_count.ts";
import { withTimeout } from "./support/waiting.ts";
import type { RpcPeer } from "./support/rpc_peer.ts";
import {
  connectWebSocket,
  startInProcessServer,
  startStdioServer,
  startWebSocketServer,
} from "./support/servers.ts";
import { bashStart } from "./support/process_start.ts";

/**
 * Starts the nasty mix on `peer`: shells whose children escaped the group (`setsid`), a shell that
 * already exited leaving an escaped child holding its pipes, background children, PTY and pipe
 * processes. Returns how many marked processes must be alive once everything is up.
 */
async function startMix(peer: RpcPeer, marker: string, ptys: number, pipes: number): Promise<number> {
  // bash + setsid sleep + sleep + foreground sleep = 4
  await peer.call(
    "process/start",
    bashStart("escapes", "setsid sleep 1000 & sleep 1000 & sleep 1000", { marker }),
  );
  // root exits at once; the setsid sleep is re-parented to init and still holds the pipes = 1
  await peer.call("process/start", bashStart("orphan", "setsid sleep 1000 & exit 0", { marker }));
  // a grandchild in the group: bash + subshell + sleep, or bash + sleep = 2..3
  await peer.call("process/start", bashStart("nested", "(sleep 1000 &) ; sleep 1000", { marker }));
  for (let i = 0; i < ptys; i++) {
    await peer.call("process/start", bashStart(`pty-${i}`, "sleep 1000", { marker, tty: true }));
  }
  for (let i = 0; i < pipes; i++) {
    await peer.call("process/start", bashStart(`pipe-${i}`, "sleep 1000", { marker }));
  }
  // bash -c "sleep 1000" execs sleep directly: one process each.
  return 4 + 1 + 2 + ptys + pipes;
}

Deno.test("SIGTERM to a WebSocket server leaves none of its processes behind (setsid, orphans, 20 PTYs, pipes)", async () => {
  const marker = newMarker("sigterm");
  const server = await startWebSocketServer(["--terminate-grace", "0.5"]);
  try {
    const peer = await connectWebSocket(server.url!);
    await peer.handshake();
    const expected = await startMix(peer, marker, 20, 10);
    await waitForMarkedCount(marker, (n) => n >= expected, `${expected} marked processes to be running`);
    const status = await withTimeout(server.close(), 20_000, "the server to exit after SIGTERM");
    assert.equal(status.code, 0, server.stderr());
    // The server waited for every tree before exiting; allow only for init to reap the killed orphans.
    await waitForMarkedCount(marker, (n) => n === 0, "every marked process to be gone", 3_000);
    peer.close();
  } finally {
    killMarkedProcesses(marker); // cleanup only
    await server.close();
  }
});

Deno.test("stdin EOF on a stdio server terminates every process it started and exits", async () => {
  const marker = newMarker("eof");
  const server = startStdioServer(["--terminate-grace", "0.5"]);
  try {
    const peer = server.peer!;
    await peer.handshake();
    const expected = await startMix(peer, marker, 5, 5);
    await waitForMarkedCount(marker, (n) => n >= expected, `${expected} marked processes to be running`);
    peer.close(); // closes the server's stdin: EOF
    const status = await withTimeout(server.child.status, 20_000, "the stdio server to exit on EOF");
    assert.equal(status.code, 0);
    await waitForMarkedCount(marker, (n) => n === 0, "every marked process to be gone", 3_000);
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});

Deno.test("TTL expiry terminates a detached session's trees, escaped orphans included, while the server runs on", async () => {
  const marker = newMarker("ttl");
  const server = await startWebSocketServer(["--session-ttl", "0.4", "--terminate-grace", "0.3"]);
  try {
    const peer = await connectWebSocket(server.url!);
    await peer.handshake();
    const expected = await startMix(peer, marker, 3, 3);
    await waitForMarkedCount(marker, (n) => n >= expected, `${expected} marked processes to be running`);
    peer.close();
    await waitForMarkedCount(marker, (n) => n === 0, "TTL expiry to end every marked process", 10_000);
    // The server itself is still up.
    const again = await connectWebSocket(server.url!);
    await again.handshake();
    assert.ok((await again.call("environment/info")).shell);
    again.close();
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});

Deno.test("in-process shutdown() is prompt even when a root exited and an escaped child holds its pipes", async () => {
  const marker = newMarker("orphan");
  const server = await startInProcessServer({ terminateGraceMs: 300 });
  try {
    const peer = await server.connect();
    await peer.handshake();
    await peer.call("process/start", bashStart("orphan", "setsid sleep 1000 & exit 0", { marker }));
    await waitForMarkedCount(marker, (n) => n === 1, "only the escaped sleep to remain");
    const started = performance.now();
    await withTimeout(
      server.server.shutdown(),
      5_000,
      "shutdown (hangs until the orphan exits if it is missed)",
    );
    assert.ok(performance.now() - started < 3_000);
    assert.equal(countMarkedProcesses(marker), 0);
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});
