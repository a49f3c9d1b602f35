/**
 * Half-open handshakes: sockets that connect and never become a WebSocket are closed after
 * `--handshake-timeout`, and beyond `--max-pending-handshakes` at once (oldest first), while upgraded
 * connections are left alone. Real server subprocesses, raw TCP sockets on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { connectWebSocket, startWebSocketServer } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves "closed" when the server ends the connection (EOF or reset). */
async function closedByServer(conn: Deno.Conn): Promise<"closed"> {
  const buffer = new Uint8Array(1024);
  try {
    while ((await conn.read(buffer)) !== null) {
      // An HTTP error reply to a partial request is fine; keep reading to the end.
    }
  } catch {
    // Reset.
  }
  return "closed";
}

Deno.test("connections that never complete a WebSocket handshake are closed after --handshake-timeout", async () => {
  const server = await startWebSocketServer(["--handshake-timeout", "0.5"]);
  const idle: Deno.Conn[] = [];
  try {
    const client = await connectWebSocket(server.url!);
    await client.handshake();
    for (let i = 0; i < 20; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url!) }));
    }
    // Half a request: headers that never end.
    const partial = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url!) });
    idle.push(partial);
    await partial.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const outcomes = await withTimeout(
      Promise.all(idle.map(closedByServer)),
      10_000,
      "the idle sockets to be closed",
    );
    assert.equal(outcomes.length, 21);
    // The upgraded connection was left alone, and new clients are served.
    assert.equal((await client.call("environment/status")).status, "ready");
    const fresh = await connectWebSocket(server.url!).catch((e) => {
      throw new Error(`${e.message}\n${server.stderr()}`);
    });
    await fresh.handshake();
    assert.equal((await fresh.call("environment/status")).status, "ready");
    client.close();
    fresh.close();
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch {
        // Closed.
      }
    }
    await server.close();
  }
});

Deno.test("beyond --max-pending-handshakes the excess pending connections are closed at once", async () => {
  const server = await startWebSocketServer(["--handshake-timeout", "600", "--max-pending-handshakes", "4"]);
  const idle: Deno.Conn[] = [];
  try {
    // Which ones go is the watchdog's order (when it first saw each); how many is the limit's.
    let closed = 0;
    const waiters: Array<{ count: number; resolve: () => void }> = [];
    const watch = (conn: Deno.Conn) =>
      closedByServer(conn).then(() => {
        closed++;
        for (const w of waiters.splice(0)) (closed >= w.count ? w.resolve : () => waiters.push(w))();
      });
    const closedAtLeast = (count: number) =>
      closed >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }));
    for (let i = 0; i < 10; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url!) });
      idle.push(conn);
      watch(conn);
    }
    await withTimeout(closedAtLeast(6), 10_000, "six of ten to be closed");
    // One more makes five pending: the next pass ends exactly one, and spares four (their timeout is far).
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url!) });
    idle.push(extra);
    watch(extra);
    await withTimeout(closedAtLeast(7), 10_000, "one of five to be closed");
    assert.equal(closed, 7, "four stay open");
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch {
        // Closed.
      }
    }
    await server.close();
  }
});

Deno.test("an admin long-poll longer than --handshake-timeout is not cut off by the watchdog", async () => {
  const server = await startWebSocketServer(["--handshake-timeout", "0.5"]);
  try {
    const client = await connectWebSocket(server.url!);
    const sessionId = await client.handshake();
    await client.call("process/start", {
      processId: "quiet",
      argv: ["sleep", "30"],
      cwd: "/tmp",
      env: {},
      tty: false,
    });
    const base = server.url!.replace(/^ws:/, "http:");
    // Nothing to read: the poll waits its full 2.5 s, five times the handshake timeout.
    const started = performance.now();
    const response = await fetch(`${base}/admin/processes/${sessionId}/quiet/output?afterSeq=0&waitMs=2500`);
    assert.equal(response.status, 200);
    const page = await response.json();
    assert.ok(performance.now() - started >= 2_000, "the poll waited");
    assert.ok(page !== null);
    await client.call("process/terminate", { processId: "quiet" });
    client.close();
  } finally {
    await server.close();
  }
});
