/**
 * ExecutorStreamableHttpTransport and redirects: under the MCP SDK's default `same-origin` policy, a
 * redirect within the origin is followed and one to another origin (another loopback port) is refused
 * without anything reaching that origin; `createExecutorFetch` honours `init.redirect` as fetch does.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { createExecutorFetch, ExecutorStreamableHttpTransport } from "../src/mcp/mod.ts";
import type { ExecutorSource } from "../src/mcp/executor_source.ts";
import { withTimeout } from "./support/waiting.ts";
import { EXECUTOR_KINDS, withExecutor } from "./fixtures/mcp_executors.ts";
import { startMcpHttpServer } from "./fixtures/mcp_http_server.ts";
import { startFrontServer } from "./fixtures/mcp_front_server.ts";

async function connect(source: ExecutorSource, url: string) {
  const transport = new ExecutorStreamableHttpTransport(source, url, {
    requestInit: { headers: { "x-api-key": "front-only" } },
  });
  const client = new Client({ name: "mcp-redirect-test", version: "1.0.0" });
  client.onerror = () => {};
  await withTimeout(client.connect(transport), 30_000, "MCP initialize");
  return { client, transport };
}

for (const kind of EXECUTOR_KINDS) {
  Deno.test(`ExecutorStreamableHttpTransport follows a same-origin 307 and refuses one to another origin (${kind})`, async () => {
    const backend = startMcpHttpServer({ enableJsonResponse: true });
    const front = startFrontServer(backend.url);
    try {
      await withExecutor(kind, async (source) => {
        // Same origin: every POST to /old is redirected to /mcp on the front and followed by the SDK.
        const same = await connect(source, front.url("/old"));
        try {
          assert.ok((await same.client.listTools()).tools.some((tool) => tool.name === "echo"));
          const posts = front.requests.filter((r) => r.method === "POST");
          assert.deepEqual(posts.slice(0, 2).map((r) => r.path), ["/old", "/mcp"]);
        } finally {
          await same.client.close();
        }

        // Another origin: once the session exists, the front redirects to the backend's port.
        const cross = await connect(source, front.url("/mcp"));
        try {
          const sessionId = cross.transport.sessionId!;
          assert.ok(sessionId);
          const backendBefore = backend.requests.length;
          front.redirectAway();
          await assert.rejects(
            cross.client.listTools(),
            (error: Error) => {
              assert.match(error.message, /Redirect to http:\/\/127\.0\.0\.1:\d+\/mcp not followed/);
              return true;
            },
          );
          const last = front.requests.at(-1)!;
          assert.deepEqual([last.method, last.sessionId, last.apiKey], ["POST", sessionId, "front-only"]);
          assert.equal(
            backend.requests.length,
            backendBefore,
            "nothing (no session id, no custom header, no body) reached the other origin",
          );
        } finally {
          await cross.client.close();
        }
      });
    } finally {
      await backend.close();
      await front.close();
    }
  });
}

Deno.test("createExecutorFetch honours redirect: manual returns the 3xx, error rejects, follow follows", async () => {
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/redir") return new Response("moved", { status: 302, headers: { location: "/final" } });
    return new Response(`ok ${pathname}`);
  });
  const url = `http://127.0.0.1:${target.addr.port}/redir`;
  try {
    await withExecutor("websocket", async (source) => {
      const executorFetch = createExecutorFetch(source);
      const manual = await executorFetch(url, { redirect: "manual" });
      assert.equal(manual.status, 302);
      assert.equal(manual.headers.get("location"), "/final");
      assert.equal(await manual.text(), "moved");

      await assert.rejects(executorFetch(url, { redirect: "error" }), TypeError);

      for (const init of [{ redirect: "follow" as const }, {}]) {
        const followed = await executorFetch(url, init);
        assert.equal(followed.status, 200);
        assert.equal(await followed.text(), "ok /final");
      }
    });
  } finally {
    await target.shutdown();
  }
});
