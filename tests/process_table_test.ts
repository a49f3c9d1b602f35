/**
 * `ProcessTable` with real children: synchronous registration, id and argv checks, the per-session limit
 * (retained processes count until evicted), notifications in seq order, and shutdown of everything.
 */
import assert from "node:assert/strict";
import { RpcError } from "../src/protocol/errors.ts";
import type { ProcessStartParams } from "../src/protocol/process.ts";
import type { NotificationSink } from "../src/rpc/handler_context.ts";
import { ProcessTable, type ProcessTableOptions } from "../src/process/process_table.ts";
import { waitUntil, withTimeout } from "./support/waiting.ts";
import { messageText } from "../src/rpc/write_queue.ts";

interface Notification {
  method: string;
  params: { processId: string; seq: number };
}

/** A sink that records what the table's processes notify, acknowledging each write at once. */
function recordingSink(): { sink: NotificationSink; notifications: Notification[] } {
  const notifications: Notification[] = [];
  const sink: NotificationSink = {
    notify(method, params, onWritten) {
      notifications.push({ method, params: params as Notification["params"] });
      if (onWritten) queueMicrotask(onWritten);
      return true;
    },
    notifyEncoded(message, onWritten) {
      notifications.push(JSON.parse(messageText(message)));
      if (onWritten) queueMicrotask(onWritten);
      return true;
    },
    whenWritable: () => Promise.resolve(),
  };
  return { sink, notifications };
}

const OPTIONS: ProcessTableOptions = {
  retainBytes: 1024 * 1024,
  terminateGraceMs: 1_000,
  exitDrainMs: 100,
  retentionMs: 60_000,
  maxProcesses: 16,
};

function startParams(processId: string, argv: string[]): ProcessStartParams {
  return {
    processId,
    argv,
    cwd: Deno.cwd(),
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    tty: false,
  };
}

const sameCwd = (cwd: string) => cwd;

function rpcCode(error: unknown): number | undefined {
  return error instanceof RpcError ? error.code : undefined;
}

Deno.test("ProcessTable registers a process before start returns, so the next request finds it", async () => {
  const table = new ProcessTable(OPTIONS, recordingSink().sink);
  const process = table.start(startParams("p1", ["sleep", "60"]), sameCwd);
  assert.equal(table.get("p1"), process);
  assert.equal(table.get("other"), undefined);
  await table.shutdownAll({ immediate: true });
});

Deno.test("ProcessTable rejects a second start with the same id while the first is running", async () => {
  const table = new ProcessTable(OPTIONS, recordingSink().sink);
  const first = table.start(startParams("dup", ["sleep", "60"]), sameCwd);
  assert.throws(() => table.start(startParams("dup", ["true"]), sameCwd), (error) => {
    assert.equal(rpcCode(error), -32600);
    assert.equal((error as Error).message, "process dup already exists");
    return true;
  });
  assert.equal(table.get("dup"), first, "the running process is untouched");
  assert.equal(first.closed, false);
  await table.shutdownAll({ immediate: true });
});

Deno.test("ProcessTable rejects an empty argv as invalid params", () => {
  const table = new ProcessTable(OPTIONS, recordingSink().sink);
  assert.throws(() => table.start(startParams("empty", []), sameCwd), (error) => rpcCode(error) === -32602);
  assert.equal(table.get("empty"), undefined);
});

Deno.test("ProcessTable counts a closed process against the limit until its retention evicts it", async () => {
  const table = new ProcessTable({ ...OPTIONS, maxProcesses: 1, retentionMs: 50 }, recordingSink().sink);
  const first = table.start(startParams("first", ["true"]), sameCwd);
  await withTimeout(first.whenClosed(), 5_000, "`true` to close");
  assert.equal(table.get("first"), first, "a closed process stays readable during retention");
  assert.throws(
    () => table.start(startParams("second", ["true"]), sameCwd),
    /too many processes in this session \(limit 1; raise it with --max-processes\)/,
  );
  await waitUntil(() => table.get("first") === undefined, "the retention to evict `first`");
  const second = table.start(startParams("second", ["true"]), sameCwd);
  await withTimeout(second.whenClosed(), 5_000, "the second `true` to close");
  await table.shutdownAll();
});

Deno.test("ProcessTable's processes notify output, exit and close in seq order", async () => {
  const { sink, notifications } = recordingSink();
  const table = new ProcessTable(OPTIONS, sink);
  const process = table.start(
    startParams("echo", ["sh", "-c", "printf out; printf err >&2; exit 3"]),
    sameCwd,
  );
  await withTimeout(process.whenClosed(), 5_000, "the shell to close");
  const methods = notifications.map((n) => n.method);
  assert.deepEqual(methods.slice(-2), ["process/exited", "process/closed"]);
  assert.deepEqual(methods.slice(0, -2).sort(), ["process/output", "process/output"]);
  const seqs = notifications.map((n) => n.params.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "seqs increase");
  assert.equal(new Set(seqs).size, seqs.length, "seqs are unique");
  assert.ok(notifications.every((n) => n.params.processId === "echo"));
  assert.equal(process.exitCode, 3);
  await table.shutdownAll();
});

Deno.test("ProcessTable.shutdownAll ends running processes and empties the table", async () => {
  const table = new ProcessTable(OPTIONS, recordingSink().sink);
  const processes = ["a", "b"].map((id) => table.start(startParams(id, ["sleep", "60"]), sameCwd));
  await withTimeout(table.shutdownAll(), 10_000, "shutdownAll");
  for (const process of processes) assert.equal(process.closed, true);
  assert.equal(table.get("a"), undefined);
  assert.equal(table.get("b"), undefined);
  // The ids are free again.
  const again = table.start(startParams("a", ["true"]), sameCwd);
  await withTimeout(again.whenClosed(), 5_000, "`true` to close");
  await table.shutdownAll();
});
