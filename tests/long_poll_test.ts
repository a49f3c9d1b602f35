/** Long-polls cost nothing while they wait, whatever `waitMs` a client asks for. */
import assert from "node:assert/strict";
import { connectWebSocket, startWebSocketServer } from "./support/servers.ts";

/** User + system CPU time of `pid`, in ms (from /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

Deno.test("process/read with waitMs beyond the timer range idles instead of spinning", async () => {
  const server = await startWebSocketServer();
  const peer = await connectWebSocket(server.url!);
  try {
    await peer.handshake();
    await peer.call("process/start", {
      processId: "sleeper",
      argv: ["sleep", "60"],
      cwd: "/tmp",
      env: { PATH: "/usr/bin:/bin" },
      tty: false,
    });
    // Far beyond 2^31-1 ms, where a plain setTimeout fires after 1 ms.
    const polls = Array.from(
      { length: 50 },
      () => peer.request("process/read", { processId: "sleeper", afterSeq: 0, waitMs: 2 ** 40 }),
    );
    // The polls are parked once a request behind them is answered (requests are handled in order).
    await peer.call("environment/info", null);
    const before = cpuMs(server.child.pid);
    const window = 1_000;
    await new Promise((resolve) => setTimeout(resolve, window));
    const spent = cpuMs(server.child.pid) - before;
    assert.ok(spent < 150, `50 idle long-polls cost ${spent} ms of CPU in ${window} ms`);
    // They still end when there is something to report.
    await peer.call("process/terminate", { processId: "sleeper" });
    const replies = await Promise.all(polls);
    for (const reply of replies) assert.equal(reply.error, undefined);
  } finally {
    peer.close();
    await server.close();
  }
});
