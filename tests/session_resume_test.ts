import assert from "node:assert/strict";
import type { ServerConnection } from "../src/server/connection.ts";
import { killMarkedProcesses, newMarker, waitForMarkedCount } from "./support/process_count.ts";
import { checkCounterText, runResumeCycles } from "./support/resume_cycles.ts";
import { withTimeout } from "./support/waiting.ts";
import { b64text, type Json, outputText, type RpcPeer } from "./support/rpc_peer.ts";
import { type InProcessServer, startInProcessServer } from "./support/servers.ts";
import { rejectsWith } from "./support/rpc_errors.ts";
import { bashStart } from "./support/process_start.ts";

/** Runs `fn` against an in-process server; kills anything marked that a failing test left behind. */
async function withServer(
  options: Parameters<typeof startInProcessServer>[0],
  fn: (server: InProcessServer, marker: string) => Promise<void>,
): Promise<void> {
  const server = await startInProcessServer(options);
  const marker = newMarker("session");
  try {
    await fn(server, marker);
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
}

/** Closes `peer` and waits until the server has detached the session from that connection. */
async function disconnect(server: InProcessServer, peer: RpcPeer, sessionId: string): Promise<void> {
  const owner = server.server.session(sessionId)?.owner as ServerConnection | null | undefined;
  peer.close();
  await withTimeout(peer.closed, 5_000, "client close");
  if (owner) await withTimeout(owner.closed, 5_000, "server noticing the disconnect");
  assert.equal(server.server.session(sessionId)?.owner ?? null, null);
}

Deno.test("20 disconnect/resume cycles (abrupt kill, clean close, takeover) lose and duplicate no output", async () => {
  await withServer({ sessionTtlMs: 5_000, resumeAttached: "takeover" }, async (server) => {
    const result = await runResumeCycles(server.url, 20);
    assert.equal(result.cycles, 20);
    assert.equal(result.wrongSession, 0);
    assert.equal(result.duplicateChunks, 0);
    assert.deepEqual(result.drops, { kill: 7, close: 7, takeover: 6 });
    const lines = checkCounterText(result.text);
    // Every cycle long-polled for at least one fresh line.
    assert.ok(lines >= 20, `only ${lines} lines`);
    assert.equal(server.server.sessionCount, 1);
  });
});

Deno.test("TTL expiry kills the detached session's processes and forgets the session", async () => {
  await withServer({ sessionTtlMs: 400, terminateGraceMs: 200 }, async (server, marker) => {
    const peer = await server.connect();
    const sessionId = await peer.handshake();
    await peer.call("process/start", bashStart("sleeper", "sleep 1000 & sleep 1000; wait", { marker }));
    await peer.call("process/start", bashStart("escaper", "setsid sleep 1000 & sleep 1000", { marker }));
    await waitForMarkedCount(marker, (n) => n >= 5, "the bash shells and their sleeps");
    await disconnect(server, peer, sessionId);
    // Still alive right after the detach (the TTL has not run out yet).
    assert.ok(server.server.session(sessionId));
    await waitForMarkedCount(marker, (n) => n === 0, "TTL expiry to kill every marked process", 10_000);
    assert.equal(server.server.session(sessionId), undefined);
    const late = await server.connect();
    await rejectsWith(late.handshake(sessionId), -32600, `unknown session id ${sessionId}`);
    // The failed initialize may be retried on the same connection.
    assert.notEqual(await late.handshake(), sessionId);
  });
});

Deno.test("resuming within the TTL cancels expiry; a later detach starts a fresh TTL", async () => {
  const ttl = 500;
  await withServer({ sessionTtlMs: ttl, terminateGraceMs: 200 }, async (server, marker) => {
    const first = await server.connect();
    const sessionId = await first.handshake();
    await first.call("process/start", bashStart("quiet", "sleep 1000", { marker }));
    await waitForMarkedCount(marker, (n) => n >= 1, "the sleeper");
    await disconnect(server, first, sessionId);
    const second = await server.connect();
    assert.equal(await second.handshake(sessionId), sessionId);
    // Wait (server-side, via a long-poll on a silent process) well past the original TTL.
    const idle = await second.call("process/read", { processId: "quiet", waitMs: ttl * 3 });
    assert.deepEqual(idle.chunks, []);
    assert.equal(idle.exited, false);
    assert.ok(server.server.session(sessionId) && !server.server.session(sessionId)!.expired);
    await waitForMarkedCount(marker, (n) => n >= 1, "the sleeper to be alive after the original TTL", 1_000);
    // Detach again: a fresh TTL runs and ends it.
    await disconnect(server, second, sessionId);
    await waitForMarkedCount(marker, (n) => n === 0, "the second TTL to expire", 10_000);
    const third = await server.connect();
    await rejectsWith(third.handshake(sessionId), -32600, `unknown session id ${sessionId}`);
  });
});

Deno.test("--resume-attached takeover: resuming an attached session fails the old connection's long-poll and closes it", async () => {
  await withServer({ sessionTtlMs: 5_000, resumeAttached: "takeover" }, async (server, marker) => {
    const old = await server.connect();
    const sessionId = await old.handshake();
    await old.call("process/start", bashStart("talker", "sleep 1000", { marker }));
    // A long-poll that nothing will answer before the takeover.
    const pending = old.call("process/read", { processId: "talker", waitMs: 30_000 });
    const fresh = await server.connect();
    assert.equal(await fresh.handshake(sessionId), sessionId);
    await rejectsWith(pending, -32600, "session has been resumed by another connection");
    await withTimeout(old.closed, 5_000, "the old connection to be closed");
    // Notifications now flow to the new connection.
    await fresh.call("process/start", bashStart("after", "echo hello-new", { marker }));
    const events = await fresh.waitClosed("after", 10_000);
    assert.equal(outputText(events), "hello-new\n");
    assert.equal(old.processEvents("after").length, 0);
    // And the processes started on the old connection belong to the resumed session.
    const read = await fresh.call("process/read", { processId: "talker", waitMs: 0 });
    assert.equal(read.exited, false);
    assert.equal((server.server.session(sessionId)!.owner as ServerConnection).state, "ready");
  });
});

Deno.test("by default, resuming a session another live connection holds is refused (-32010) and nothing changes", async () => {
  await withServer({ sessionTtlMs: 5_000 }, async (server, marker) => {
    const owner = await server.connect();
    const sessionId = await owner.handshake();
    await owner.call("process/start", bashStart("p", "sleep 1000", { marker }));
    const intruder = await server.connect();
    await rejectsWith(
      intruder.handshake(sessionId),
      -32010,
      `session ${sessionId} is already attached to another connection`,
    );
    // The owner is untouched and keeps working.
    assert.equal(owner.isClosed, false);
    const read = await owner.call("process/read", { processId: "p", waitMs: 0 });
    assert.equal(read.exited, false);
    // Once the owner is gone, the same id resumes fine.
    await disconnect(server, owner, sessionId);
    assert.equal(await intruder.handshake(sessionId), sessionId);
  });
});

Deno.test("notifications produced while detached are not replayed, yet process/read returns all of it", async () => {
  await withServer({ sessionTtlMs: 5_000 }, async (server, marker) => {
    const first = await server.connect();
    const sessionId = await first.handshake();
    // Waits for stdin before printing, so every line is produced while detached.
    await first.call("process/start", {
      ...bashStart("gated", "read go; for i in $(seq 1 50); do echo line-$i; done", { marker }),
      pipeStdin: true,
    });
    const session = server.server.session(sessionId)!;
    await disconnect(server, first, sessionId);
    // Release the child while no connection is attached (straight through the process table).
    await session.processes.get("gated")!.write(new TextEncoder().encode("go\n"));
    await withTimeout(session.processes.get("gated")!.whenClosed(), 10_000, "the detached child to close");
    const second = await server.connect();
    assert.equal(await second.handshake(sessionId), sessionId);
    // Prove the connection is live and has flushed anything queued for it, then look: nothing replayed.
    await second.call("environment/info");
    assert.deepEqual(second.processEvents("gated"), []);
    let afterSeq = 0;
    let text = "";
    let last: Json;
    for (let i = 0; i < 1_000; i++) {
      last = await second.call("process/read", { processId: "gated", afterSeq, maxBytes: 64 });
      for (const chunk of last.chunks) {
        assert.ok(chunk.seq > afterSeq);
        text += b64text(chunk.chunk);
        afterSeq = chunk.seq;
      }
      if (last.chunks.length === 0) break;
    }
    assert.equal(text, Array.from({ length: 50 }, (_, i) => `line-${i + 1}\n`).join(""));
    assert.equal(last!.closed, true);
    assert.equal(last!.exitCode, 0);
    // New notifications flow to the resumed connection.
    await second.call("process/start", bashStart("fresh", "echo after-resume", { marker }));
    assert.equal(outputText(await second.waitClosed("fresh", 10_000)), "after-resume\n");
  });
});

Deno.test("a resume that names an unknown session id is -32600 and the connection can still initialize", async () => {
  await withServer({}, async (server) => {
    const peer = await server.connect();
    const bogus = "00000000-0000-4000-8000-000000000000";
    await rejectsWith(peer.handshake(bogus), -32600, `unknown session id ${bogus}`);
    const sessionId = await peer.handshake();
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    await rejectsWith(peer.call("initialize", { clientName: "again" }), -32600, /only be sent once/);
  });
});

Deno.test("a write retried with its writeId after a resume reaches the child once", async () => {
  await withServer({ sessionTtlMs: 5_000 }, async (server, marker) => {
    const first = await server.connect();
    const sessionId = await first.handshake();
    await first.call(
      "process/start",
      bashStart("w", "head -n 2", { pipeStdin: true, marker, ackMode: "read" }),
    );
    assert.deepEqual(
      await first.call("process/write", { processId: "w", chunk: btoa("one\n"), writeId: "id1" }),
      { status: "accepted" },
    );
    await disconnect(server, first, sessionId);
    const second = await server.connect();
    assert.equal(await second.handshake(sessionId), sessionId);
    // The client did not see the first answer: it sends the same write again, then the next one.
    assert.deepEqual(
      await second.call("process/write", { processId: "w", chunk: btoa("one\n"), writeId: "id1" }),
      { status: "accepted" },
    );
    await second.call("process/write", { processId: "w", chunk: btoa("two\n"), writeId: "id2" });
    // Read everything until the child (head, done after two lines) has closed.
    let text = "";
    let afterSeq = 0;
    for (let page = 0; page < 50; page++) {
      const read = await second.call("process/read", { processId: "w", afterSeq, waitMs: 5_000 });
      text += read.chunks.map((c: Json) => b64text(c.chunk)).join("");
      afterSeq = read.nextSeq - 1;
      if (read.closed) break;
    }
    assert.equal(text, "one\ntwo\n");
  });
});
