import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ExecutorStreamableHttpTransport, McpSessionExpiredError } from "../src/mcp/mod.ts";
import type { ExecutorSource } from "../src/mcp/executor_source.ts";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import { withTimeout } from "./support/waiting.ts";
import { startInProcessServer } from "./support/servers.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";
import { EXECUTOR_KINDS, withExecutor } from "./fixtures/mcp_executors.ts";
import { type McpHttpServer, startMcpHttpServer } from "./fixtures/mcp_http_server.ts";
import { bigText } from "./fixtures/mcp_tools.ts";

const BIG_BYTES = 5 * 1024 * 1024;

function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = result.content as { type: string; text?: string }[];
  assert.equal(content[0].type, "text");
  return content[0].text!;
}

/** Connects an MCP client to `url` through `source`; collects transport errors. */
async function connectMcp(source: ExecutorSource, url: string) {
  const transport = new ExecutorStreamableHttpTransport(source, url);
  const errors: Error[] = [];
  const client = new Client({ name: "mcp-http-test", version: "1.0.0" });
  client.onerror = (error) => errors.push(error);
  await withTimeout(client.connect(transport), 30_000, "MCP initialize");
  return { client, transport, errors };
}

/** Runs `fn` with a fixture server; closes it (ending its SSE streams) afterwards. */
async function withMcpHttpServer(
  options: Parameters<typeof startMcpHttpServer>[0],
  fn: (server: McpHttpServer) => Promise<void>,
): Promise<void> {
  const server = startMcpHttpServer(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

for (const kind of EXECUTOR_KINDS) {
  Deno.test(`ExecutorStreamableHttpTransport lists and calls tools with SSE progress and a 5 MB result (${kind})`, async () => {
    await withExecutor(kind, (source) =>
      withMcpHttpServer({}, async (server) => {
        const { client, transport } = await connectMcp(source, server.url);
        try {
          assert.equal(client.getServerVersion()?.name, "fixture-http");
          assert.ok(transport.sessionId, "the session id was kept");
          assert.deepEqual(server.sessionIds(), [transport.sessionId]);
          const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
          assert.deepEqual(tools, ["big", "echo", "hang", "pid", "progress"]);
          assert.equal(
            textOf(await client.callTool({ name: "echo", arguments: { text: "héllo" } })),
            "echo: héllo",
          );

          // The response is an SSE stream: progress events first, then the result, as they are sent.
          const progress: { progress: number; message?: string }[] = [];
          const done = await client.callTool({ name: "progress", arguments: { steps: 4 } }, undefined, {
            onprogress: (p) => progress.push({ progress: p.progress, message: p.message }),
          });
          assert.equal(textOf(done), "done 4");
          assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
          assert.equal(progress[3].message, "step 4");

          const big = textOf(
            await withTimeout(
              client.callTool({ name: "big", arguments: { bytes: BIG_BYTES } }),
              60_000,
              "big",
            ),
          );
          assert.equal(new TextEncoder().encode(big).length, BIG_BYTES);
          assert.ok(big === bigText(BIG_BYTES), "the 5 MB SSE event arrived intact");

          // What the server saw: the SDK's accept headers, then session and protocol-version headers.
          const posts = server.requests.filter((r) => r.method === "POST");
          assert.ok(posts.every((r) => r.accept === "application/json, text/event-stream"));
          assert.equal(posts[0].sessionId, null);
          assert.ok(posts.slice(1).every((r) => r.sessionId === transport.sessionId));
          assert.ok(posts.slice(2).every((r) => r.protocolVersion === transport.protocolVersion));
          const get = server.requests.find((r) => r.method === "GET");
          assert.equal(get?.accept, "text/event-stream", "the standalone event stream was opened");

          // DELETE through the executor ends the session on the server.
          const sessionId = transport.sessionId;
          await transport.terminateSession();
          assert.equal(transport.sessionId, undefined);
          assert.ok(!server.sessionIds().includes(sessionId!));
          assert.ok(server.requests.some((r) => r.method === "DELETE" && r.sessionId === sessionId));
        } finally {
          await client.close();
        }
      }));
  });

  Deno.test(`ExecutorStreamableHttpTransport reports an expired session after a restart or a DELETE (${kind})`, async () => {
    await withExecutor(kind, (source) =>
      withMcpHttpServer({ enableJsonResponse: true }, async (server) => {
        const first = await connectMcp(source, server.url);
        try {
          assert.equal(
            textOf(await first.client.callTool({ name: "echo", arguments: { text: "a" } })),
            "echo: a",
          );
          const sessionId = first.transport.sessionId!;
          await server.restart();
          const error = await first.client.callTool({ name: "echo", arguments: { text: "b" } }).then(
            () => assert.fail("the call should fail"),
            (e: Error) => e,
          );
          assert.ok(error instanceof McpSessionExpiredError, `got ${error}`);
          assert.equal(error.code, 404);
          assert.equal(error.sessionId, sessionId);
          assert.ok(first.errors.includes(error), "onerror reported the same error");
        } finally {
          await first.client.close();
        }

        // Re-initializing on a new transport works; a DELETE by someone else expires that session too.
        const second = await connectMcp(source, server.url);
        try {
          assert.equal(
            textOf(await second.client.callTool({ name: "echo", arguments: { text: "c" } })),
            "echo: c",
          );
          const deleted = await fetch(server.url, {
            method: "DELETE",
            headers: { "mcp-session-id": second.transport.sessionId! },
          });
          await deleted.body?.cancel();
          assert.equal(deleted.status, 200);
          await assert.rejects(
            second.client.callTool({ name: "echo", arguments: { text: "d" } }),
            (e: Error) => e instanceof McpSessionExpiredError && /expired \(HTTP 404\)/.test(e.message),
          );
        } finally {
          await second.client.close();
        }
      }));
  });
}

Deno.test("ExecutorStreamableHttpTransport parses split, multi-line and CRLF SSE events with ids", async () => {
  const encoder = new TextEncoder();
  // A hand-written Streamable HTTP response: a comment, an event split across writes, multi-line data,
  // CRLF line ends, an id (the resumption token) and a non-message event that must be skipped.
  const pieces = [
    ": keep-alive\n\n",
    'event: message\nid: 7\ndata: {"jsonrpc":"2.0","method":"notifications/message",',
    '\ndata: "params":{"level":"info","data":"two\\nlines"}}\n\n',
    "event: other\r\ndata: ignored\r\n\r\n",
    'id: 8\r\ndata: {"jsonrpc":"2.0","id":1,\r\ndata: "result":{}}\r\n\r\n',
  ];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.body?.cancel();
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      // One piece per pull: each write is its own chunk on the wire.
      pull(controller) {
        if (next < pieces.length) controller.enqueue(encoder.encode(pieces[next++]));
        else controller.close();
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "mcp-session-id": "raw-1" },
    });
  });
  try {
    await withExecutor("websocket", async (source) => {
      const transport = new ExecutorStreamableHttpTransport(
        source,
        `http://127.0.0.1:${server.addr.port}/mcp`,
      );
      const messages: unknown[] = [];
      const tokens: string[] = [];
      const gotResult = Promise.withResolvers<void>();
      transport.onmessage = (message) => {
        messages.push(message);
        if ("result" in message) gotResult.resolve();
      };
      await transport.start();
      await transport.send({ jsonrpc: "2.0", id: 1, method: "ping" }, {
        onresumptiontoken: (t) => tokens.push(t),
      });
      await withTimeout(gotResult.promise, 10_000, "the result event");
      assert.deepEqual(messages, [
        { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "two\nlines" } },
        { jsonrpc: "2.0", id: 1, result: {} },
      ]);
      assert.deepEqual(tokens, ["7", "8"]);
      assert.equal(transport.sessionId, "raw-1");
      await transport.close();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("ExecutorStreamableHttpTransport closes with an error when its exec-server client disconnects", async () => {
  const executorServer = await startInProcessServer();
  const proxy = startTcpProxy(executorServer.url);
  let executor: ExecServerClient | null = null;
  try {
    executor = await ExecServerClient.connect({ kind: "websocket", url: proxy.url });
    const source = executor;
    await withMcpHttpServer({}, async (server) => {
      const { client, errors } = await connectMcp(source, server.url);
      const closed = Promise.withResolvers<void>();
      client.onclose = () => closed.resolve();
      const running = Promise.withResolvers<void>();
      const hang = client.callTool({ name: "hang" }, undefined, { onprogress: () => running.resolve() });
      hang.catch(() => {});
      await withTimeout(running.promise, 10_000, "the hang tool to run");
      proxy.kill();
      await assert.rejects(withTimeout(hang, 10_000, "the pending call to fail"), /Connection closed/);
      await withTimeout(closed.promise, 5_000, "onclose");
      assert.ok(
        errors.some((e) => /exec-server transport disconnected/.test(e.message)),
        errors.map((e) => e.message).join("; "),
      );
    });
  } finally {
    await executor?.close();
    proxy.close();
    await executorServer.close();
  }
});
