/**
 * `ackMode: "auto"` learns per session: a client that let one process fill its bound without reading is a
 * notification consumer, so later processes do not wait for the decision clock; a `process/read` undoes it.
 * Real children (`head -c`), a recording sink that acknowledges on write.
 */
import assert from "node:assert/strict";
import { AckModeMemory } from "../src/process/ack_mode_memory.ts";
import { ManagedProcess } from "../src/process/managed_process.ts";
import { spawnChild } from "../src/process/spawn_child.ts";
import type { NotificationSink } from "../src/rpc/handler_context.ts";
import { withTimeout } from "./support/waiting.ts";
import { messageText } from "../src/rpc/write_queue.ts";

const RETAIN = 64 * 1024;
const OUTPUT = 1024 * 1024;
/** Long enough that a process waiting for it cannot finish inside the test's deadline. */
const NEVER_MS = 3_600_000;

/** Counts decoded output bytes; every notification is "written" at once. */
function recordingSink(): NotificationSink & { bytes: () => number } {
  let bytes = 0;
  return {
    notify: (_method, _params, onWritten) => {
      onWritten?.();
      return true;
    },
    notifyEncoded: (message, onWritten) => {
      const text = messageText(message);
      const chunk = /"chunk":"([^"]*)"/.exec(text);
      if (chunk) bytes += Uint8Array.fromBase64(chunk[1]).length;
      onWritten?.();
      return true;
    },
    whenWritable: () => Promise.resolve(),
    bytes: () => bytes,
  };
}

function startFlood(
  id: string,
  sink: NotificationSink,
  memory: AckModeMemory,
  decisionMs: number,
): ManagedProcess {
  const child = spawnChild({
    argv: ["head", "-c", String(OUTPUT), "/dev/zero"],
    cwd: "/",
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    tty: false,
  });
  return new ManagedProcess(id, child, {
    retainBytes: RETAIN,
    terminateGraceMs: 1000,
    exitDrainMs: 1000,
    ackMode: "auto",
    ackMemory: memory,
    autoAckDecisionMs: decisionMs,
    tty: false,
    sink,
    onClosed: () => {},
  });
}

Deno.test("auto ack mode: after one process decided for notifications, the next does not wait for the clock", async () => {
  const memory = new AckModeMemory();
  const sink = recordingSink();
  // The first process fills its 64 KiB bound with nobody reading: it waits (50 ms here) and then decides.
  const first = startFlood("first", sink, memory, 50);
  await withTimeout(first.whenClosed(), 20_000, "the first process to finish");
  assert.equal(sink.bytes(), OUTPUT);
  assert.equal(memory.learned, "notification");
  // The second would wait an hour for a read; the session's memory lets it go on at once.
  const second = startFlood("second", sink, memory, NEVER_MS);
  try {
    await withTimeout(second.whenClosed(), 20_000, "the second process to finish without the decision clock");
    assert.equal(sink.bytes(), 2 * OUTPUT);
  } finally {
    await second.shutdown({ immediate: true });
  }
});

Deno.test("auto ack mode: a process/read in the session brings the wait back, and nothing unread is lost", async () => {
  const memory = new AckModeMemory();
  memory.learned = "notification";
  const sink = recordingSink();
  const reader = startFlood("reader", sink, memory, NEVER_MS);
  try {
    // Reading decides this process for reads and teaches the session.
    let afterSeq = 0;
    let bytes = 0;
    for (let i = 0; i < 10_000; i++) {
      const page = await reader.read(afterSeq, Number.POSITIVE_INFINITY, 2_000, new AbortController().signal);
      assert.equal(page.droppedBytes, 0);
      for (const chunk of page.chunks) {
        bytes += Uint8Array.fromBase64(chunk.chunk).length;
        afterSeq = chunk.seq;
      }
      if (page.closed && page.chunks.length === 0) break;
    }
    assert.equal(bytes, OUTPUT);
    assert.equal(memory.learned, "read");
  } finally {
    await reader.shutdown({ immediate: true });
  }
});
