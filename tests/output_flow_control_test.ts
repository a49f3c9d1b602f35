/**
 * Output is never silently lost: a slow consumer slows the producer (the client acknowledges only what
 * its consumer took), a dropped connection loses nothing that was sent but not confirmed, and any loss
 * that still happens (a client that opts into `ackMode: "notification"`) makes the outcome a failure.
 */
import assert from "node:assert/strict";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import type { ProcessHandle } from "../src/client/process_handle.ts";
import { SERVER_ARGV, startInProcessServer } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";

const PATH_ENV = { PATH: "/usr/bin:/bin" };
const LINES = 2_000_000;

/** What `seq 1 N` prints. */
function seqText(n: number): Uint8Array<ArrayBuffer> {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) lines.push(String(i));
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

/** Reads every stdout byte of `handle`; `onChunk` may stall (await) the consumer. */
async function drain(handle: ProcessHandle, onChunk: (received: number) => Promise<void> | void) {
  const parts: Uint8Array[] = [];
  let received = 0;
  let dropped = 0;
  for await (const event of handle) {
    if (event.type === "output") {
      parts.push(event.chunk);
      received += event.chunk.length;
      await onChunk(received);
    } else if (event.type === "dropped") dropped += event.bytes;
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return { bytes: out, dropped };
}

const stall = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a slow consumer of the client library slows the producer and loses no byte", async () => {
  // A small server bound and client buffer make the producer outrun the consumer many times over.
  const server = await startInProcessServer({ retainBytes: 256 * 1024 });
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url }, {
    process: { maxBufferedBytes: 256 * 1024 },
  });
  try {
    const expected = seqText(LINES);
    const handle = await client.startProcess({ argv: ["seq", "1", String(LINES)], env: PATH_ENV });
    let stalls = 0;
    const { bytes, dropped } = await withTimeout(
      drain(handle, async (received) => {
        // Stall a few times, long enough for the producer to fill every buffer on the way.
        if (stalls < 4 && received > stalls * 4_000_000) {
          stalls++;
          await stall(150);
        }
      }),
      60_000,
      "the whole output",
    );
    const outcome = await handle.wait();
    assert.equal(dropped, 0);
    assert.deepEqual(outcome, { exitCode: 0, failure: null });
    assert.equal(bytes.length, expected.length);
    assert.equal(await sha256(bytes), await sha256(expected));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("a client that stalls, loses its connection and resumes loses no output", async () => {
  const server = await startInProcessServer({ retainBytes: 1024 * 1024 });
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url }, {
    resumeSessions: true,
  });
  try {
    const sessionId = client.sessionId;
    const expected = seqText(LINES);
    const handle = await client.startProcess({ argv: ["seq", "1", String(LINES)], env: PATH_ENV });
    let drops = 0;
    const { bytes, dropped } = await withTimeout(
      drain(handle, async (received) => {
        if (drops < 3 && received > drops * 4_000_000) {
          drops++;
          // Stall while the server keeps writing into the socket, then lose that connection: what was
          // in flight never reaches this client, and the resume must fetch it again.
          await stall(100);
          const owner = server.server.session(sessionId)?.owner as { close(reason?: string): void } | null;
          owner?.close("test drops the connection");
        }
      }),
      60_000,
      "the whole output across drops",
    );
    const outcome = await handle.wait();
    assert.equal(drops, 3);
    assert.equal(dropped, 0);
    assert.deepEqual(outcome, { exitCode: 0, failure: null });
    assert.equal(bytes.length, expected.length);
    assert.equal(await sha256(bytes), await sha256(expected));
    assert.equal(client.sessionId, sessionId);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("output lost (ackMode notification, --delivery-window 0) is reported and makes the outcome a failure", async () => {
  // Written counts as read: a drop while stalled loses what was in flight, which the client must report.
  const server = await startInProcessServer({ retainBytes: 64 * 1024, deliveryWindowBytes: 0 });
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url }, {
    resumeSessions: true,
    process: { maxBufferedBytes: 64 * 1024 },
  });
  try {
    const sessionId = client.sessionId;
    // Opting into written-means-delivered: a drop while stalled loses what was in flight.
    const handle = await client.startProcess({
      argv: ["seq", "1", String(LINES)],
      env: PATH_ENV,
      ackMode: "notification",
    });
    let dropped = false;
    const result = await withTimeout(
      drain(handle, async () => {
        if (dropped) return;
        dropped = true;
        await stall(150);
        const owner = server.server.session(sessionId)?.owner as { close(reason?: string): void } | null;
        owner?.close("test drops the connection");
      }),
      60_000,
      "the output",
    );
    const outcome = await handle.wait();
    assert.ok(result.dropped > 0, "the loss is reported as a dropped event");
    assert.equal(outcome.exitCode, 0);
    assert.match(outcome.failure ?? "", /^\d+ bytes of output were lost/);
    assert.equal(result.bytes.length + result.dropped, seqText(LINES).length, "received + dropped = all");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("exec-server run into a slow pipe delivers every byte", async () => {
  const server = await startInProcessServer({ retainBytes: 1024 * 1024 });
  try {
    const cli = SERVER_ARGV.map((arg) => `'${arg}'`).join(" ");
    const total = 30_000_000;
    const output = await withTimeout(
      new Deno.Command("bash", {
        args: ["-c", `${cli} run --url ${server.url} -- head -c ${total} /dev/zero | (sleep 1; wc -c)`],
        stdout: "piped",
        stderr: "piped",
      }).output(),
      90_000,
      "exec-server run | slow consumer",
    );
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(new TextDecoder().decode(output.stdout).trim(), String(total), stderr);
  } finally {
    await server.close();
  }
});

Deno.test("a handle whose events are cancelled releases the output, so the process runs to its end", async () => {
  const server = await startInProcessServer({ retainBytes: 64 * 1024 });
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url });
  try {
    const handle = await client.startProcess({ argv: ["seq", "1", String(LINES)], env: PATH_ENV });
    await handle.events.cancel();
    const outcome = await withTimeout(handle.wait(), 60_000, "the process to finish unread");
    assert.deepEqual(outcome, { exitCode: 0, failure: null });
  } finally {
    await client.close();
    await server.close();
  }
});
