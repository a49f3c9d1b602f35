/**
 * Soak bench: 100 disconnect/resume cycles (abrupt TCP kill, clean close, half-open takeover) against a
 * server subprocess, checking that every line read is present once and in order; 10 rounds of a 47.7 MB
 * `ackMode: "notification"` stream whose link stalls and drops before a resume (0 bytes may be lost),
 * and one with `--delivery-window 0` for comparison; then the seeded protocol fuzzer for N messages on
 * both transports. Prints the figures; exits 1 on any failure.
 * Usage: deno run -A bench/soak.ts [cycles=100] [fuzzMessages=10000] [seed]
 *
 * @module
 */
import { runFuzz } from "../tests/support/fuzz_messages.ts";
import { checkCounterText, runResumeCycles } from "../tests/support/resume_cycles.ts";
import { runNotificationDrop } from "../tests/support/notification_drop.ts";
import { startWebSocketServer } from "../tests/support/servers.ts";
import { peakRssKiB } from "../tests/support/process_count.ts";

const cycles = Number(Deno.args[0] ?? 100);
const fuzzMessages = Number(Deno.args[1] ?? 10_000);
const seed = Number(Deno.args[2] ?? 20_260_006);
let failed = false;

// ---- resume cycles ----
{
  const server = await startWebSocketServer(["--session-ttl", "10", "--resume-attached", "takeover"]);
  try {
    const result = await runResumeCycles(server.url!, cycles);
    let lines = 0;
    let orderError: string | null = null;
    try {
      lines = checkCounterText(result.text);
    } catch (error) {
      orderError = (error as Error).message;
    }
    const ok = orderError === null && result.duplicateChunks === 0 && result.wrongSession === 0 &&
      result.cycles === cycles;
    failed ||= !ok;
    console.log(JSON.stringify({
      resumeCycles: {
        cycles: result.cycles,
        drops: result.drops,
        linesRead: lines,
        reads: result.reads,
        lost: orderError,
        duplicates: result.duplicateChunks,
        wrongSession: result.wrongSession,
        wallMs: Math.round(result.wallMs),
        serverPeakRssMiB: +((peakRssKiB(server.child.pid) ?? 0) / 1024).toFixed(1),
        ok,
      },
    }));
  } finally {
    await server.close();
  }
}

// ---- ackMode notification: stall, drop, resume ----
{
  const rounds = 10;
  const results = [];
  for (let round = 0; round < rounds; round++) {
    results.push(await runNotificationDrop(47_700_000, 4_000_000 + round * 2_000_000));
  }
  // The same with written-counts-as-read (--delivery-window 0), to show what the window saves.
  const unprotected = await runNotificationDrop(47_700_000, 4_000_000, { deliveryWindowBytes: 0 });
  const lost = results.reduce((sum, r) => sum + (r.total - r.received), 0);
  const ok = lost === 0 && results.every((r) => r.dropped === 0);
  failed ||= !ok;
  console.log(JSON.stringify({
    notificationDrop: {
      rounds,
      bytesPerRound: 47_700_000,
      lostBytes: lost,
      droppedBytes: results.reduce((sum, r) => sum + r.dropped, 0),
      withDeliveryWindow0: { lostBytes: unprotected.total - unprotected.received },
      ok,
    },
  }));
}

// ---- fuzz ----
for (const transport of ["websocket", "stdio"] as const) {
  const scratchDir = await Deno.makeTempDir({ prefix: "exec-server-soak-" });
  try {
    await Deno.mkdir(`${scratchDir}/a`);
    await Deno.writeTextFile(`${scratchDir}/f.txt`, "soak\n");
    const report = await runFuzz({
      transport,
      seed: seed + (transport === "stdio" ? 1 : 0),
      count: fuzzMessages,
      scratchDir,
      maxMessageBytes: 256 * 1024,
      settleMs: 60_000,
    });
    const ok = report.crashed === null && report.unanswered.length === 0 &&
      report.unexpectedReplies.length === 0 &&
      report.internalErrors.length === 0 && report.servesAfterwards && report.tried === fuzzMessages;
    failed ||= !ok;
    console.log(JSON.stringify({
      fuzz: {
        transport,
        seed: report.seed,
        messagesTried: report.tried,
        repliesOwed: report.expected,
        answered: report.answered,
        unanswered: report.unanswered.length,
        unansweredSample: report.unanswered.slice(0, 5),
        unexpectedReplies: report.unexpectedReplies.length,
        crashes: report.crashed === null ? 0 : 1,
        crashReason: report.crashed,
        jsExceptionsAsInternalErrors: report.internalErrors.length,
        parseErrors: report.parseErrors,
        oversizedWithUnrecoverableId: report.unsniffableOversized,
        servesAfterwards: report.servesAfterwards,
        codes: report.codes,
        wallMs: report.wallMs,
        ok,
      },
    }));
  } finally {
    await Deno.remove(scratchDir, { recursive: true });
  }
}
if (failed) Deno.exit(1);
