import assert from "node:assert/strict";
import { FuzzGenerator, type FuzzReport, runFuzz } from "./support/fuzz_messages.ts";
import { killMarkedProcesses, MARKER_VAR, newMarker, waitForMarkedCount } from "./support/process_count.ts";
import { startInProcessServer, TRANSPORTS } from "./support/servers.ts";
import { waitUntil } from "./support/waiting.ts";

// Override with FUZZ_SEED / FUZZ_COUNT to reproduce or extend a run.
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0x5eed_0006);
const COUNT = Number(Deno.env.get("FUZZ_COUNT") ?? 2_500);

function summary(report: FuzzReport): string {
  const { byKind: _, ...rest } = report;
  return JSON.stringify({ ...rest, unanswered: report.unanswered.slice(0, 20) }, null, 1);
}

Deno.test("the fuzz generator is deterministic for a seed and covers every message class", () => {
  const options = { seed: 42, scratchDir: "/tmp/x", maxMessageBytes: 4096, transport: "stdio" as const };
  const a = new FuzzGenerator(options);
  const b = new FuzzGenerator(options);
  const kinds = new Set<string>();
  for (let i = 0; i < 3_000; i++) {
    const x = a.next();
    const y = b.next();
    assert.deepEqual(x, y);
    kinds.add(x.kind);
  }
  for (
    const kind of [
      "plausible",
      "wrong-types",
      "params-shape",
      "unknown-method",
      "notification",
      "client-response",
      "odd-id",
      "huge-int-id",
      "string-id",
      "malformed",
      "truncated",
      "non-object",
      "deep",
      "huge-string",
      "oversized",
      "binary",
      "binary-request",
      "duplicate-id",
      "envelope-variant",
    ]
  ) assert.ok(kinds.has(kind), `kind ${kind} never generated`);
});

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] fuzzed input never crashes the server, every valid request id is answered`, async () => {
    const scratchDir = await Deno.makeTempDir({ prefix: "exec-server-fuzz-" });
    try {
      await Deno.mkdir(`${scratchDir}/a`);
      await Deno.writeTextFile(`${scratchDir}/f.txt`, "fuzz\n");
      const report = await runFuzz({
        transport,
        seed: SEED + (transport === "stdio" ? 1 : 0),
        count: COUNT,
        scratchDir,
        maxMessageBytes: 256 * 1024,
        settleMs: 30_000,
      });
      const context = summary(report);
      assert.equal(report.crashed, null, context);
      assert.equal(report.tried, COUNT, context);
      assert.deepEqual(report.unanswered, [], context);
      assert.deepEqual(report.unexpectedReplies, [], context);
      assert.deepEqual(report.internalErrors, [], context);
      assert.equal(report.answered, report.expected, context);
      assert.ok(report.parseErrors > 0, context);
      assert.ok(report.servesAfterwards, context);
    } finally {
      await Deno.remove(scratchDir, { recursive: true });
    }
  });
}

// Found by the fuzzer: between the root's exit and `exited` being recorded (the drain wait, long when an
// escaped descendant holds the pipes), process/signal failed with -32603 "failed to signal process: ESRCH".
Deno.test("process/signal right after the root exited (exit not yet recorded) is a no-op, not -32603", async () => {
  const marker = newMarker("signal");
  const server = await startInProcessServer({ exitDrainMs: 3_000 });
  try {
    const peer = await server.connect();
    const sessionId = await peer.handshake();
    await peer.call("process/start", {
      processId: "gone",
      argv: ["bash", "-c", "setsid sleep 30 & exit 0"],
      cwd: "/tmp",
      env: { PATH: "/usr/bin:/bin", [MARKER_VAR]: marker },
      tty: false,
    });
    // Only the escaped sleep is left: the root bash has exited, but the pipes are still open.
    await waitForMarkedCount(marker, (n) => n === 1, "the root to exit, leaving the setsid sleep");
    const rootPid = server.server.session(sessionId)!.processes.get("gone")!.pid;
    await waitUntil(() => !existsSync(`/proc/${rootPid}`), "the root to be reaped");
    const read = await peer.call("process/read", { processId: "gone", waitMs: 0 });
    assert.equal(read.exited, false, "exit must not be recorded yet for this test to mean anything");
    for (const signal of ["interrupt", "terminate", "user1"]) {
      assert.deepEqual(await peer.call("process/signal", { processId: "gone", signal }), {});
    }
  } finally {
    killMarkedProcesses(marker); // cleanup only: a leak would hang close()
    await server.close();
  }
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
