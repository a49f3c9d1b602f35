/**
 * `http/cancel` (ours): ending one streamed `http/request` closes its upstream connection on the host, sends
 * no further frame and frees the id; the client sends it when a streamed body is cancelled, so closing an
 * MCP Streamable HTTP transport ends its event stream upstream too.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import { ExecutorStreamableHttpTransport } from "../src/mcp/mod.ts";
import { withTimeout } from "./support/waiting.ts";
import { startInProcessServer, TRANSPORTS, withPeer } from "./support/servers.ts";
import { EXECUTOR_KINDS, withExecutor } from "./fixtures/mcp_executors.ts";
import { startMcpHttpServer } from "./fixtures/mcp_http_server.ts";
import { startFrontServer } from "./fixtures/mcp_front_server.ts";

/** `/endless` sends one chunk and then nothing until the client goes away; `/short` a whole small body. */
function startEndlessServer() {
  let closed = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    if (new URL(request.url).pathname === "/short") return new Response("short body");
    const gone = closed;
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
        },
        cancel() {
          gone.resolve();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  return {
    url: (path: string) => `http://127.0.0.1:${server.addr.port}${path}`,
    /** Resolves when the current endless response was closed by the executor; then re-arms. */
    async upstreamClosed(): Promise<void> {
      await withTimeout(closed.promise, 10_000, "the upstream connection to close");
      closed = Promise.withResolvers<void>();
    },
    close: () => server.shutdown(),
  };
}

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] http/cancel closes the upstream of a streamed body, sends no more frames and frees the id`, async () => {
    const upstream = startEndlessServer();
    try {
      await withPeer(transport, async (peer) => {
        const frames = () =>
          peer.notifications.filter((n) =>
            n.method === "http/request/bodyDelta" && n.params.requestId === "s1"
          );
        const head = await peer.call("http/request", {
          method: "GET",
          url: upstream.url("/endless"),
          requestId: "s1",
          streamResponse: true,
        });
        assert.equal(head.status, 200);
        await peer.until(() => frames().length >= 1, "the first body frame");

        assert.deepEqual(await peer.call("http/cancel", { requestId: "s1" }), { cancelled: true });
        await upstream.upstreamClosed();
        const seen = frames().length;
        // A later round trip: anything the stream still produced would have been sent before this answer.
        assert.ok((await peer.call("environment/info")).shell);
        assert.equal(frames().length, seen, "no frame after the cancel");
        assert.ok(frames().every((f) => !f.params.done), "no terminal frame either");

        assert.deepEqual(await peer.call("http/cancel", { requestId: "s1" }), { cancelled: false });
        assert.deepEqual(await peer.call("http/cancel", { requestId: "never" }), { cancelled: false });

        // The id is free again at once.
        await peer.call("http/request", {
          method: "GET",
          url: upstream.url("/short"),
          requestId: "s1",
          streamResponse: true,
        });
        await peer.until(() => frames().some((f) => f.params.done), "the new stream's terminal frame");
        const reused = frames().slice(seen).map((f) => f.params);
        assert.equal(reused.map((f) => atob(f.deltaBase64)).join(""), "short body");
        assert.deepEqual(reused.map((f) => f.seq), reused.map((_, i) => i + 1));
      });
    } finally {
      await upstream.close();
    }
  });
}

Deno.test("http/cancel of a streamed request still waiting for its headers fails it with -32603", async () => {
  // Accepts, reads the request, never answers; records when the executor hangs up.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hungUp = Promise.withResolvers<void>();
  const accepted = Promise.withResolvers<void>();
  const accepting = (async () => {
    const conn = await listener.accept();
    accepted.resolve();
    const buffer = new Uint8Array(65536);
    for (let reads = 0; reads < 10_000; reads++) {
      if ((await conn.read(buffer).catch(() => null)) === null) break;
    }
    conn.close();
    hungUp.resolve();
  })();
  try {
    await withPeer("stdio", async (peer) => {
      const pending = peer.request("http/request", {
        method: "GET",
        url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
        requestId: "early",
        streamResponse: true,
      });
      // Cancel once the request is in flight (connected): its id is reserved by then.
      await withTimeout(accepted.promise, 10_000, "the executor to connect");
      assert.deepEqual(await peer.call("http/cancel", { requestId: "early" }), { cancelled: true });
      const reply = await pending;
      assert.deepEqual(reply.error, {
        code: -32603,
        message: "http/request failed: cancelled by http/cancel",
      });
      await withTimeout(hungUp.promise, 10_000, "the executor to hang up");
    });
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});

Deno.test("cancelling a streamed body on the client stops the upstream on the host", async () => {
  const upstream = startEndlessServer();
  const server = await startInProcessServer();
  const client = await ExecServerClient.connect({ kind: "websocket", url: server.url });
  try {
    const response = await client.httpStream({ method: "GET", url: upstream.url("/endless") });
    const reader = response.body.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "data: first\n\n");
    await reader.cancel();
    await upstream.upstreamClosed();
  } finally {
    await client.close();
    await server.close();
    await upstream.close();
  }
});

for (const kind of EXECUTOR_KINDS) {
  Deno.test(`closing ExecutorStreamableHttpTransport ends its event stream on the host (${kind})`, async () => {
    const backend = startMcpHttpServer();
    const front = startFrontServer(backend.url);
    try {
      await withExecutor(kind, async (source) => {
        const client = new Client({ name: "mcp-cancel-test", version: "1.0.0" });
        await withTimeout(
          client.connect(new ExecutorStreamableHttpTransport(source, front.url("/mcp"))),
          30_000,
          "MCP initialize",
        );
        await client.listTools();
        assert.ok(front.requests.some((r) => r.method === "GET"), "the event stream was opened");
        await client.close();
        // The executor is still connected: only http/cancel can have closed the upstream connection.
        await withTimeout(front.allBodiesClosed(), 10_000, "every proxied body to close");
      });
    } finally {
      await front.close();
      await backend.close();
    }
  });
}
