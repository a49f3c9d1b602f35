import assert from "node:assert/strict";
import { ExecServerClientError } from "../src/client/client_error.ts";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import { LazyRemoteClient } from "../src/client/lazy_remote_client.ts";
import type { ProcessEvent } from "../src/client/process_event.ts";
import type { MessageTransport } from "../src/rpc/transport.ts";
import { stdioServerParams, text } from "./client_test_util.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";
import { withTimeout } from "./support/waiting.ts";
import { type InProcessServer, startInProcessServer, startWebSocketServer } from "./support/servers.ts";

const PATH_ENV = { PATH: "/usr/bin:/bin" };

function isDisconnect(error: unknown): boolean {
  assert.ok(error instanceof ExecServerClientError, `expected ExecServerClientError, got ${error}`);
  assert.equal(error.kind, "disconnected");
  assert.equal(error.message, "exec-server transport disconnected");
  return true;
}

/** Counts connections the in-process server accepts. */
function countAccepts(server: InProcessServer): { count: number } {
  const counter = { count: 0 };
  const accept = server.server.accept.bind(server.server);
  server.server.accept = (transport: MessageTransport) => {
    counter.count++;
    return accept(transport);
  };
  return counter;
}

/** Drops the client's connection from the server side (what a network blip looks like). */
function dropConnection(server: InProcessServer, sessionId: string): void {
  const owner = server.server.session(sessionId)?.owner as { close(reason?: string): void } | null;
  assert.ok(owner, "session has an attached connection");
  owner.close("test drops the connection");
}

async function assertFailsAfterServerDeath(client: ExecServerClient, kill: () => void | Promise<void>) {
  const sleeper = await client.startProcess({ argv: ["sleep", "30"], env: PATH_ENV });
  let settled = 0;
  const pendingRead = sleeper.read({ afterSeq: 0, waitMs: 30_000 }).finally(() => settled++);
  const pendingInfo = client.environmentInfo(); // in flight when the server dies (or answered first)
  await kill();
  await assert.rejects(withTimeout(pendingRead, 15_000, "pending read to fail"), isDisconnect);
  await pendingInfo.catch(isDisconnect);
  const outcome = await withTimeout(sleeper.wait(), 5_000, "process handle failure");
  assert.deepEqual(outcome, { exitCode: null, failure: "exec-server transport disconnected" });
  const events: ProcessEvent[] = [];
  for await (const event of sleeper) events.push(event);
  assert.deepEqual(events, [{ type: "failed", message: "exec-server transport disconnected" }]);
  assert.equal(client.isDisconnected, true);
  // New work fails fast, without waiting for anything.
  await assert.rejects(withTimeout(client.environmentInfo(), 1_000, "fast failure"), isDisconnect);
  await assert.rejects(client.startProcess({ argv: ["true"] }), isDisconnect);
  assert.equal(settled, 1);
}

Deno.test("ExecServerClient [websocket] fails pending calls once and new calls fast when the server dies", async () => {
  const server = await startWebSocketServer();
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url! });
  try {
    await assertFailsAfterServerDeath(client, () => server.child.kill("SIGKILL"));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("ExecServerClient [stdio] fails pending calls once and new calls fast when the server dies", async () => {
  const client = await ExecServerClient.connect(stdioServerParams());
  try {
    // The child's parent is the stdio server: let it kill the server from inside.
    await assertFailsAfterServerDeath(client, async () => {
      // The server may die before answering process/start.
      await client.startProcess({ argv: ["sh", "-c", "kill -KILL $PPID"], env: PATH_ENV }).catch(
        isDisconnect,
      );
    });
  } finally {
    await client.close();
  }
});

Deno.test("ExecServerClient close() fails pending calls with `exec-server transport closed`", async () => {
  const server = await startInProcessServer();
  try {
    const client = await ExecServerClient.connect({ kind: "websocket", url: server.url });
    const handle = await client.startProcess({ argv: ["sleep", "30"], env: PATH_ENV });
    // Expect the rejection before closing: close() resolves only after the server answered the close.
    const rejected = assert.rejects(handle.read({ waitMs: 30_000 }), {
      kind: "closed",
      message: "exec-server transport closed",
    });
    await client.close();
    await rejected;
    assert.equal((await handle.wait()).failure, "exec-server transport closed");
  } finally {
    await server.close();
  }
});

Deno.test("ExecServerClient connect errors carry Codex's messages", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn); // accept TCP, never answer the upgrade
  })();
  try {
    const url = `ws://127.0.0.1:${silent.addr.port}`;
    await assert.rejects(ExecServerClient.connect({ kind: "websocket", url, connectTimeoutMs: 300 }), {
      kind: "connect-timeout",
      message: `timed out connecting to exec-server websocket \`${url}\` after 300ms`,
    });
  } finally {
    silent.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
  const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = refused.addr.port;
  refused.close();
  await assert.rejects(
    ExecServerClient.connect({ kind: "websocket", url: `ws://127.0.0.1:${port}` }),
    (e) => {
      assert.equal((e as ExecServerClientError).kind, "connect");
      assert.match(
        (e as Error).message,
        new RegExp(`^failed to connect to exec-server websocket \`ws://127.0.0.1:${port}\`: `),
      );
      return true;
    },
  );
  await assert.rejects(
    ExecServerClient.connect({ kind: "stdio", command: { program: "sh", args: ["-c", "sleep 30"] } }, {
      initializeTimeoutMs: 1500,
    }),
    {
      kind: "initialize-timeout",
      message: "timed out waiting for exec-server initialize handshake after 1.5s",
    },
  );
  await assert.rejects(
    ExecServerClient.connect({ kind: "stdio", command: { program: "/nonexistent/exec-server" } }),
    { kind: "spawn", message: "failed to spawn exec-server: No such file or directory (os error 2)" },
  );
});

Deno.test("LazyRemoteClient makes exactly one new client for concurrent callers after a WebSocket disconnect", async () => {
  const server = await startInProcessServer();
  const accepts = countAccepts(server);
  const lazy = new LazyRemoteClient(() => ExecServerClient.connect({ kind: "websocket", url: server.url }));
  try {
    assert.equal(accepts.count, 0, "nothing connects before first use");
    const first = await Promise.all(Array.from({ length: 8 }, () => lazy.get()));
    assert.equal(new Set(first).size, 1);
    assert.equal(accepts.count, 1);
    const old = first[0];
    dropConnection(server, old.sessionId);
    await withTimeout(old.disconnected, 5_000, "client to see the close");
    const infos = await Promise.all(
      Array.from({ length: 16 }, async () => (await lazy.get()).environmentInfo()),
    );
    assert.equal(infos.length, 16);
    assert.equal(accepts.count, 2, "exactly one fresh connection");
    assert.equal(lazy.connectCount, 2);
    const fresh = await lazy.get();
    assert.notEqual(fresh, old);
    assert.notEqual(fresh.sessionId, old.sessionId);
  } finally {
    await lazy.close();
    await server.close();
  }
});

Deno.test("LazyRemoteClient keeps a dead stdio client (one-shot) and does not cache failures", async () => {
  const lazy = new LazyRemoteClient(() => ExecServerClient.connect(stdioServerParams()));
  try {
    const client = await lazy.get();
    await client.startProcess({ argv: ["sh", "-c", "kill -KILL $PPID"], env: PATH_ENV }).catch(isDisconnect);
    await withTimeout(client.disconnected, 10_000, "stdio server death");
    assert.equal(await lazy.get(), client);
    await assert.rejects(client.environmentInfo(), isDisconnect);
    assert.equal(lazy.connectCount, 1);
  } finally {
    await lazy.close();
  }
  const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${refused.addr.port}`;
  refused.close();
  const failing = new LazyRemoteClient(() => ExecServerClient.connect({ kind: "websocket", url }));
  await assert.rejects(failing.get(), { kind: "connect" });
  await assert.rejects(failing.get(), { kind: "connect" });
  assert.equal(failing.connectCount, 2);
});

Deno.test("ExecServerClient resumes its session after a drop and re-binds a live process without losing output", async () => {
  const server = await startInProcessServer();
  const accepts = countAccepts(server);
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url }, {
    resumeSessions: true,
  });
  try {
    const sessionId = client.sessionId;
    const handle = await client.startProcess({
      argv: ["bash", "-c", "for i in $(seq 1 60); do echo line-$i; sleep 0.01; done; exit 5"],
      env: PATH_ENV,
    });
    const reader = handle.events.getReader();
    const lines: string[] = [];
    let dropped = false;
    let exitCode: number | null = null;
    const seqs: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const { value, done } = await withTimeout(reader.read(), 15_000, "process events");
      if (done) break;
      if ("seq" in value) seqs.push(value.seq);
      if (value.type === "output") lines.push(text(value.chunk));
      if (value.type === "exited") exitCode = value.exitCode;
      assert.notEqual(value.type, "failed");
      if (!dropped && lines.join("").includes("line-5\n")) {
        dropped = true;
        dropConnection(server, sessionId);
      }
    }
    assert.ok(dropped);
    assert.equal(exitCode, 5);
    const expected = Array.from({ length: 60 }, (_, i) => `line-${i + 1}\n`).join("");
    assert.equal(lines.join(""), expected);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "contiguous seqs, no duplicates");
    assert.equal(client.sessionId, sessionId);
    assert.equal(accepts.count, 2);
    assert.equal((await client.environmentInfo()).shell.path.length > 0, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("after a half-open drop the client keeps resuming until the server's ping deadline frees its session", async () => {
  // The server holds the old, silent connection (a vanished network path) and refuses the resume with
  // -32010 until its 1 s ping deadline closes it; the client retries and gets its session back.
  const server = await startInProcessServer({ wsPingTimeoutSec: 1 });
  const proxy = startTcpProxy(server.url);
  const accepts = countAccepts(server);
  const client = await ExecServerClient.connect({ kind: "websocket", url: proxy.url }, {
    resumeSessions: true,
  });
  try {
    const sessionId = client.sessionId;
    const handle = await client.startProcess({
      argv: ["bash", "-c", "read x; echo got-$x"],
      env: PATH_ENV,
      pipeStdin: true,
    });
    proxy.strand();
    // Sent after the drop: waits for the resume, which needs the retries.
    assert.equal(await withTimeout(handle.write("after\n"), 15_000, "write after the resume"), "accepted");
    assert.equal(client.sessionId, sessionId);
    assert.ok(
      accepts.count >= 3,
      `expected a refused resume before the good one, saw ${accepts.count} accepts`,
    );
    const outcome = await withTimeout(handle.wait(), 10_000, "process end");
    assert.equal(outcome.exitCode, 0);
  } finally {
    await client.close();
    proxy.close();
    await server.close();
  }
});
