import assert from "node:assert/strict";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import { createMemoryTransportPair } from "../src/client/memory_transport.ts";
import type { ProcessEvent } from "../src/client/process_event.ts";
import { SeqReorderBuffer } from "../src/client/seq_reorder_buffer.ts";
import {
  encodeNotification,
  encodeResult,
  parseMessage,
  type RequestMessage,
} from "../src/protocol/envelope.ts";
import type { MessageTransport } from "../src/rpc/transport.ts";
import { text } from "./client_test_util.ts";
import { withTimeout } from "./support/waiting.ts";

/** A scripted server on the far end of an in-memory pair: `onRequest` answers (or stages) each request. */
function fakeServer(onRequest: (request: RequestMessage, server: MessageTransport) => void) {
  const [clientSide, serverSide] = createMemoryTransportPair("fake exec-server");
  const requests: RequestMessage[] = [];
  serverSide.start({
    onMessage(raw) {
      const parsed = parseMessage(raw);
      if (!parsed.ok || parsed.message.kind !== "request") return;
      requests.push(parsed.message);
      if (parsed.message.method === "initialize") {
        serverSide.send(encodeResult(parsed.message.id, { sessionId: "fake-session" }));
        return;
      }
      onRequest(parsed.message, serverSide);
    },
    onFramingError() {},
    onClose() {},
  });
  return { clientSide, serverSide, requests };
}

function output(seq: number, chunk: string) {
  return encodeNotification("process/output", {
    processId: "p",
    seq,
    stream: "stdout",
    chunk: new TextEncoder().encode(chunk).toBase64(),
  });
}

async function drain(events: ReadableStream<ProcessEvent>): Promise<ProcessEvent[]> {
  const all: ProcessEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

Deno.test("SeqReorderBuffer publishes contiguous seqs, holds early ones and drops duplicates", () => {
  const buffer = new SeqReorderBuffer<{ seq: number; tag: string }>();
  assert.deepEqual(buffer.push({ seq: 2, tag: "b" }), []);
  assert.equal(buffer.hasGap, true);
  assert.deepEqual(buffer.push({ seq: 2, tag: "dup" }), []);
  assert.deepEqual(buffer.push({ seq: 1, tag: "a" }).map((e) => e.tag), ["a", "b"]);
  assert.deepEqual(buffer.push({ seq: 1, tag: "stale" }), []);
  assert.deepEqual(buffer.push({ seq: 4, tag: "d" }), []);
  // A catch-up that skips an evicted seq (3) still releases what was held after it.
  assert.deepEqual(buffer.advance([{ seq: 3, tag: "c" }]).map((e) => e.tag), ["c", "d"]);
  assert.equal(buffer.lastSeq, 4);
  assert.equal(buffer.hasGap, false);
});

Deno.test("SeqReorderBuffer overflow asks for a catch-up instead of growing", () => {
  const buffer = new SeqReorderBuffer<{ seq: number }>(3);
  for (const seq of [2, 3, 4, 5]) buffer.push({ seq });
  assert.equal(buffer.overflowed, true);
  assert.equal(buffer.hasGap, false);
  assert.deepEqual(buffer.advance([{ seq: 1 }, { seq: 2 }]).map((e) => e.seq), [1, 2]);
  assert.equal(buffer.overflowed, false);
});

Deno.test("ExecServerClient reorders and dedupes events that arrive before the process/start response", async () => {
  const fake = fakeServer((request, server) => {
    if (request.method !== "process/start") return;
    // Out of order, duplicated, and all before the response: the route must already exist.
    server.send(encodeNotification("process/closed", { processId: "p", seq: 5 }));
    server.send(output(3, "c"));
    server.send(output(1, "a"));
    server.send(output(1, "a"));
    server.send(encodeNotification("process/exited", { processId: "p", seq: 4, exitCode: 7 }));
    server.send(output(2, "b"));
    server.send(output(3, "c"));
    server.send(encodeResult(request.id, { processId: "p" }));
  });
  const client = await ExecServerClient.connect({ kind: "transport", open: () => fake.clientSide });
  try {
    const handle = await client.startProcess({ processId: "p", argv: ["x"] });
    const events = await withTimeout(drain(handle.events), 5_000, "events");
    assert.deepEqual(events.map((e) => e.type === "output" ? text(e.chunk) : e.type), [
      "a",
      "b",
      "c",
      "exited",
      "closed",
    ]);
    assert.deepEqual(await handle.wait(), { exitCode: 7, failure: null });
    assert.equal(fake.requests.filter((r) => r.method === "process/read").length, 0);
  } finally {
    await client.close();
  }
});

Deno.test("ExecServerClient fills a persistent seq gap with process/read from the last contiguous seq", async () => {
  const fake = fakeServer((request, server) => {
    if (request.method === "process/start") {
      server.send(encodeResult(request.id, { processId: "p" }));
      server.send(output(1, "a"));
      // seq 2 (output) and 3 (exited) are never pushed; seq 4 (closed) is.
      server.send(encodeNotification("process/closed", { processId: "p", seq: 4 }));
    } else if (request.method === "process/read") {
      const afterSeq = (request.params as { afterSeq: number }).afterSeq;
      const chunks = afterSeq < 2 ? [{ seq: 2, stream: "stdout", chunk: btoa("b") }] : [];
      server.send(encodeResult(request.id, {
        chunks,
        nextSeq: chunks.length ? 3 : 5,
        exited: true,
        exitCode: 0,
        closed: true,
        failure: null,
      }));
    }
  });
  const client = await ExecServerClient.connect({ kind: "transport", open: () => fake.clientSide }, {
    process: { gapGraceMs: 10 },
  });
  try {
    const handle = await client.startProcess({ processId: "p", argv: ["x"] });
    const events = await withTimeout(drain(handle.events), 5_000, "events");
    assert.deepEqual(events.map((e) => e.type === "output" ? text(e.chunk) : `${e.type}`), [
      "a",
      "b",
      "exited",
      "closed",
    ]);
    assert.deepEqual(events.flatMap((e) => "seq" in e ? [e.seq] : []), [1, 2, 3, 4]);
    const reads = fake.requests.filter((r) => r.method === "process/read");
    assert.equal((reads[0].params as { afterSeq: number }).afterSeq, 1);
  } finally {
    await client.close();
  }
});

Deno.test("ExecServerClient fails a streamed http body on a seq mismatch", async () => {
  const fake = fakeServer((request, server) => {
    if (request.method !== "http/request") return;
    const requestId = (request.params as { requestId: string }).requestId;
    server.send(encodeResult(request.id, { status: 200, headers: [], bodyBase64: "" }));
    const delta = (seq: number) =>
      encodeNotification("http/request/bodyDelta", {
        requestId,
        seq,
        deltaBase64: btoa("x"),
        done: false,
        error: null,
      });
    server.send(delta(1));
    server.send(delta(3));
  });
  const client = await ExecServerClient.connect({ kind: "transport", open: () => fake.clientSide });
  try {
    const response = await client.httpStream({ method: "GET", url: "http://127.0.0.1:9/" });
    assert.equal(response.requestId, "http-1");
    await assert.rejects(
      new Response(response.body).arrayBuffer(),
      { message: "http response stream `http-1` received seq 3, expected 2" },
    );
  } finally {
    await client.close();
  }
});

Deno.test("ExecServerClient surfaces an http body error frame", async () => {
  const fake = fakeServer((request, server) => {
    if (request.method !== "http/request") return;
    const requestId = (request.params as { requestId: string }).requestId;
    server.send(encodeResult(request.id, { status: 200, headers: [], bodyBase64: "" }));
    server.send(encodeNotification("http/request/bodyDelta", {
      requestId,
      seq: 1,
      deltaBase64: "",
      done: true,
      error: "error decoding response body",
    }));
  });
  const client = await ExecServerClient.connect({ kind: "transport", open: () => fake.clientSide });
  try {
    const response = await client.httpStream({ method: "GET", url: "http://127.0.0.1:9/" });
    await assert.rejects(
      new Response(response.body).arrayBuffer(),
      { message: "http response stream `http-1` failed: error decoding response body" },
    );
  } finally {
    await client.close();
  }
});

Deno.test("ExecServerClient rejects a result that does not match the method's schema", async () => {
  const fake = fakeServer((request, server) => server.send(encodeResult(request.id, { shell: 42 })));
  const client = await ExecServerClient.connect({ kind: "transport", open: () => fake.clientSide });
  try {
    await assert.rejects(client.environmentInfo(), (error: Error & { kind?: string }) => {
      assert.equal(error.kind, "protocol");
      assert.match(error.message, /^exec-server protocol error: invalid environment\/info result/);
      return true;
    });
  } finally {
    await client.close();
  }
});
