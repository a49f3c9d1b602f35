import assert from "node:assert/strict";
import type { ServerConnection } from "../src/server/connection.ts";
import { killMarkedProcesses, newMarker } from "./support/process_count.ts";
import { withTimeout } from "./support/waiting.ts";
import { b64text, type Json } from "./support/rpc_peer.ts";
import {
  connectWebSocket,
  startInProcessServer,
  startStdioServer,
  startWebSocketServer,
} from "./support/servers.ts";
import { rejectsWith } from "./support/rpc_errors.ts";
import { bashStart } from "./support/process_start.ts";

/** Sends a raw WebSocket upgrade and returns the HTTP status line. */
async function upgradeStatus(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    const buffer = new Uint8Array(4096);
    const n = await withTimeout(conn.read(buffer), 5_000, "upgrade response");
    const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    return text.split("\r\n")[0] + (text.includes("too many connections") ? " too many connections" : "");
  } finally {
    conn.close();
  }
}

/** The server side of `peer`'s session, to await its close. */
function serverSide(
  server: Awaited<ReturnType<typeof startInProcessServer>>,
  sessionId: string,
): ServerConnection {
  return server.server.session(sessionId)!.owner as ServerConnection;
}

Deno.test("--max-processes: the session's limit is a clear -32600, other sessions are unaffected", async () => {
  const marker = newMarker("limit-proc");
  const server = await startInProcessServer({ maxProcessesPerSession: 3 });
  try {
    const a = await server.connect();
    await a.handshake();
    for (const id of ["p1", "p2", "p3"]) {
      await a.call("process/start", bashStart(id, "sleep 1000", { marker }));
    }
    await rejectsWith(
      a.call("process/start", bashStart("p4", "sleep 1000", { marker })),
      -32600,
      "too many processes in this session (limit 3; raise it with --max-processes)",
    );
    const b = await server.connect();
    await b.handshake();
    assert.deepEqual(await b.call("process/start", bashStart("p1", "echo other", { marker })), {
      processId: "p1",
      sandboxType: "none",
    });
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});

Deno.test("--max-sessions: a new session beyond the limit is refused; an expired one frees its slot", async () => {
  const server = await startInProcessServer({ maxSessions: 2, sessionTtlMs: 300 });
  try {
    const a = await server.connect();
    const aId = await a.handshake();
    const b = await server.connect();
    await b.handshake();
    const c = await server.connect();
    await rejectsWith(c.handshake(), -32600, "too many sessions (limit 2; raise it with --max-sessions)");
    const owner = serverSide(server, aId);
    a.close();
    await withTimeout(owner.closed, 5_000, "server noticing the close");
    // After the TTL the slot is free.
    await withTimeout(waitForSessionGone(server, aId), 5_000, "session expiry");
    assert.match(await c.handshake(), /^[0-9a-f-]{36}$/);
  } finally {
    await server.close();
  }
});

/** Resolves when `id` has been removed (the session's expiry callback ran). */
function waitForSessionGone(
  server: Awaited<ReturnType<typeof startInProcessServer>>,
  id: string,
): Promise<void> {
  const session = server.server.session(id);
  if (!session) return Promise.resolve();
  // Session.expire() is what the TTL timer calls; wrap it once to be told.
  return new Promise((resolve) => {
    const original = session.expire.bind(session);
    session.expire = async () => {
      await original();
      resolve();
    };
  });
}

Deno.test("--max-connections: the upgrade beyond the limit gets HTTP 503; a freed slot is reusable", async () => {
  const server = await startInProcessServer({ maxConnections: 2 });
  try {
    const a = await server.connect();
    const aId = await a.handshake();
    const b = await server.connect();
    await b.handshake();
    assert.equal(await upgradeStatus(server.url), "HTTP/1.1 503 Service Unavailable too many connections");
    await assert.rejects(connectWebSocket(server.url));
    const owner = serverSide(server, aId);
    a.close();
    await withTimeout(owner.closed, 5_000, "server noticing the close");
    const c = await server.connect();
    assert.ok(await c.handshake());
    // Existing connections kept working throughout.
    assert.ok((await b.call("environment/info")).shell);
  } finally {
    await server.close();
  }
});

Deno.test("[stdio] --max-message-bytes: an oversized line gets an error naming the limit, then serving continues", async () => {
  const server = startStdioServer(["--max-message-bytes", "65536"]);
  try {
    const peer = server.peer!;
    await peer.handshake();
    const big = "x".repeat(100_000);
    const reply = await withTimeout(
      peer.request("fs/writeFile", { path: "/tmp/never-written", dataBase64: big }, "too-big"),
      10_000,
      "oversized reply",
    );
    assert.equal(reply.id, "too-big");
    assert.equal(reply.error!.code, -32600);
    assert.match(
      reply.error!.message,
      /^failed to parse JSON-RPC message from exec-server stdio: message of at least \d+ bytes exceeds the maximum message size of 65536 bytes$/,
    );
    assert.ok((await peer.call("environment/info")).shell);
    // Just under the limit is fine.
    const fits = await peer.request("environment/info", { pad: "y".repeat(60_000) });
    assert.equal(fits.error!.code, -32602); // params rejected, but the message itself was accepted
  } finally {
    await server.close();
  }
});

Deno.test("[websocket] --max-message-bytes: an oversized message gets an error with its id, the socket stays open", async () => {
  const server = await startInProcessServer({ maxMessageBytes: 65536 });
  try {
    const peer = await server.connect();
    await peer.handshake();
    const reply = await withTimeout(
      peer.request("fs/writeFile", { path: "/tmp/never-written", dataBase64: "x".repeat(100_000) }, 77),
      10_000,
      "oversized reply",
    );
    assert.equal(reply.id, 77);
    assert.equal(reply.error!.code, -32600);
    assert.match(
      reply.error!.message,
      /^failed to parse websocket JSON-RPC message from exec-server websocket 127\.0\.0\.1:\d+: message of \d+ bytes exceeds the maximum message size of 65536 bytes$/,
    );
    assert.equal(peer.isClosed, false);
    assert.ok((await peer.call("environment/info")).shell);
  } finally {
    await server.close();
  }
});

Deno.test("[websocket] a message over Deno's fixed 64 MiB WebSocket cap drops only that connection, with a clear log line", async () => {
  const server = await startWebSocketServer([]);
  try {
    const peer = await connectWebSocket(server.url!);
    await peer.handshake();
    peer.sendRaw(`{"id":1,"method":"environment/info","params":{"pad":"${"z".repeat(65 * 1024 * 1024)}"}}`);
    await withTimeout(peer.closed, 30_000, "the oversized connection to be dropped");
    // The server is fine and serves new connections.
    const fresh = await connectWebSocket(server.url!);
    await fresh.handshake();
    assert.ok((await fresh.call("environment/info")).shell);
    fresh.close();
  } finally {
    const status = await server.close();
    assert.equal(status.code, 0);
    assert.match(server.stderr(), /a WebSocket message exceeded the 64 MiB transport limit/);
  }
});

Deno.test("--retain-bytes: unread output beyond the bound blocks the child instead of being lost; reading resumes it", async () => {
  const marker = newMarker("retain");
  const retainBytes = 64 * 1024;
  const total = 2_000_000;
  const server = await startInProcessServer({ retainBytes });
  try {
    const peer = await server.connect();
    await peer.handshake();
    // ackMode "read": only process/read frees room, so a client that never reads stalls the child.
    await peer.call(
      "process/start",
      bashStart("flood", `yes 0123456789abcdef | head -c ${total}; exit 7`, { marker, ackMode: "read" }),
    );
    await peer.call("process/start", bashStart("quiet", "sleep 1000", { marker }));
    const notifiedBytes = () =>
      peer.processEvents("flood").filter((n: Json) => n.method === "process/output")
        .reduce((sum: number, n: Json) => sum + atob(n.params.chunk).length, 0);
    await peer.until(() => notifiedBytes() >= retainBytes, "the bound to fill");
    // Give the child ample time to run on if it were not blocked (a server-side 500 ms long-poll).
    await peer.call("process/read", { processId: "quiet", waitMs: 500 });
    const stalled = notifiedBytes();
    assert.ok(stalled < total / 4, `the child was not held back (${stalled} bytes out)`);
    assert.equal(peer.processEvents("flood").some((n: Json) => n.method === "process/exited"), false);
    // Now read everything: the child resumes, and not a byte is missing.
    let afterSeq = 0;
    let bytes = 0;
    let last: Json;
    for (let i = 0; i < 100_000; i++) {
      last = await peer.call("process/read", { processId: "flood", afterSeq, waitMs: 2_000 });
      assert.equal(last.droppedBytes ?? 0, 0);
      for (const chunk of last.chunks) {
        bytes += b64text(chunk.chunk).length;
        afterSeq = chunk.seq;
      }
      if (last.closed && last.chunks.length === 0) break;
    }
    assert.equal(bytes, total);
    assert.equal(last!.exitCode, 7);
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});
