/** Out of descriptors, an existing client's process/start gets a clear error; the server lives. */
import assert from "node:assert/strict";
import { connectWebSocket } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";
import { ReplyError } from "./support/rpc_peer.ts";
import { startUlimitServer } from "./support/ulimit_server.ts";

Deno.test("with every descriptor taken by idle sockets, process/start fails with a clear error and the server lives", async () => {
  const server = await startUlimitServer("-n 200");
  const conns: Deno.Conn[] = [];
  const peer = await connectWebSocket(server.url);
  try {
    await peer.handshake();
    // Idle sockets until the server can accept no more (its listener then waits to bind again).
    for (let i = 0; i < 300; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
      } catch {
        break;
      }
    }
    let failure: unknown = null;
    // Every started process needs pipes: keep asking until one start fails (bounded by the fd limit).
    for (let i = 0; i < 250 && failure === null; i++) {
      try {
        await withTimeout(
          peer.call("process/start", {
            processId: `p${i}`,
            argv: ["sleep", "30"],
            cwd: "/tmp",
            env: { PATH: "/usr/bin:/bin" },
            tty: false,
          }),
          10_000,
          "process/start",
        );
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof ReplyError, `a start failed with a JSON-RPC error: ${failure}`);
    assert.match(failure.message, /too many open files on the server/);
    let exited = false;
    server.child.status.then(() => exited = true);
    assert.equal(exited, false, "the server is still running");
  } finally {
    peer.close();
    for (const conn of conns) conn.close();
    await server.close();
  }
});
