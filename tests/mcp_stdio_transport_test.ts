import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import { ExecutorStdioTransport, McpServerProcessError } from "../src/mcp/mod.ts";
import { withTimeout } from "./support/waiting.ts";
import { bigText } from "./fixtures/mcp_tools.ts";
import { EXECUTOR_KINDS, stdioMcpServerParams, withExecutor } from "./fixtures/mcp_executors.ts";
import { startInProcessServer } from "./support/servers.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const BIG_BYTES = 5 * 1024 * 1024;

/** The text of the first content item of a tool result. */
function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = result.content as { type: string; text?: string }[];
  assert.equal(content[0].type, "text");
  return content[0].text!;
}

/** Calls the `hang` tool; resolves `running` once the server reports it is inside the call. */
function callHang(client: Client) {
  const running = Promise.withResolvers<void>();
  const result = client.callTool({ name: "hang" }, undefined, { onprogress: () => running.resolve() });
  result.catch(() => {});
  return { result, running: withTimeout(running.promise, 10_000, "the hang tool to run") };
}

/** An MCP client plus everything its transport reported. */
async function connectMcp(transport: ExecutorStdioTransport) {
  const errors: Error[] = [];
  const closed = Promise.withResolvers<void>();
  const client = new Client({ name: "mcp-stdio-test", version: "1.0.0" });
  client.onerror = (error) => errors.push(error);
  client.onclose = () => closed.resolve();
  await withTimeout(client.connect(transport), 30_000, "MCP initialize");
  return { client, errors, closed: closed.promise };
}

for (const kind of EXECUTOR_KINDS) {
  Deno.test(`ExecutorStdioTransport lists and calls tools, carries a 5 MB result, and survives a killed server (${kind})`, async () => {
    await withExecutor(kind, async (source) => {
      const transport = new ExecutorStdioTransport(source, stdioMcpServerParams());
      const { client, errors, closed } = await connectMcp(transport);
      try {
        assert.equal(client.getServerVersion()?.name, "fixture-stdio");
        const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
        assert.deepEqual(tools, ["big", "echo", "hang", "pid", "progress"]);
        assert.equal(
          textOf(await client.callTool({ name: "echo", arguments: { text: "héllo\nworld" } })),
          "echo: héllo\nworld",
        );

        const big = textOf(
          await withTimeout(client.callTool({ name: "big", arguments: { bytes: BIG_BYTES } }), 60_000, "big"),
        );
        assert.equal(new TextEncoder().encode(big).length, BIG_BYTES);
        assert.ok(big === bigText(BIG_BYTES), "the 5 MB result arrived intact");

        // Progress notifications interleave with the result on the same stdout.
        const progress: number[] = [];
        const done = await client.callTool({ name: "progress", arguments: { steps: 3 } }, undefined, {
          onprogress: (p) => progress.push(p.progress),
        });
        assert.equal(textOf(done), "done 3");
        assert.deepEqual(progress, [1, 2, 3]);

        // Kill the server process mid-call: the pending call fails instead of hanging.
        const pid = Number(textOf(await client.callTool({ name: "pid" })));
        assert.ok(pid > 0);
        const hang = callHang(client);
        await hang.running;
        Deno.kill(pid, "SIGKILL");
        await assert.rejects(
          withTimeout(hang.result, 15_000, "the pending call to fail"),
          /Connection closed/,
        );
        await withTimeout(closed, 5_000, "onclose");
        const exit = errors.find((error) => error instanceof McpServerProcessError) as McpServerProcessError;
        assert.ok(exit, `an McpServerProcessError was reported: ${errors.map((e) => e.message)}`);
        assert.equal(exit.exitCode, 128 + 9);
        assert.match(exit.message, /exited with code 137/);
        assert.equal(transport.exitCode, 137);
      } finally {
        await client.close();
      }
    });
  });
}

Deno.test("ExecutorStdioTransport close() closes stdin and the server exits on its own", async () => {
  await withExecutor("websocket", async (source) => {
    const transport = new ExecutorStdioTransport(source, stdioMcpServerParams(), { closeGraceMs: 10_000 });
    const { client, errors, closed } = await connectMcp(transport);
    const started = performance.now();
    await withTimeout(client.close(), 15_000, "close");
    await closed;
    assert.ok(performance.now() - started < 9_000, "exited on EOF, well before the grace period");
    assert.equal(transport.exitCode, 0);
    assert.deepEqual(errors, []);
  });
});

Deno.test("ExecutorStdioTransport close() terminates a server that ignores EOF after the grace period", async () => {
  await withExecutor("stdio", async (source) => {
    const transport = new ExecutorStdioTransport(source, stdioMcpServerParams(["--ignore-stdin-eof"]), {
      closeGraceMs: 300,
    });
    const { client, errors } = await connectMcp(transport);
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "x" } })), "echo: x");
    await withTimeout(client.close(), 10_000, "close");
    assert.ok(
      transport.exitCode !== null && transport.exitCode > 128,
      `killed by a signal: ${transport.exitCode}`,
    );
    assert.deepEqual(errors, []);
    await assert.rejects(transport.send({ jsonrpc: "2.0", method: "notifications/initialized" }), /closed/);
  });
});

Deno.test("ExecutorStdioTransport reports a lost executor as exec-server transport disconnected", async () => {
  const server = await startInProcessServer();
  const proxy = startTcpProxy(server.url);
  let executor: ExecServerClient | null = null;
  try {
    executor = await ExecServerClient.connect({ kind: "websocket", url: proxy.url });
    const transport = new ExecutorStdioTransport(executor, stdioMcpServerParams());
    const { client, errors, closed } = await connectMcp(transport);
    const hang = callHang(client);
    await hang.running;
    proxy.kill();
    await assert.rejects(withTimeout(hang.result, 15_000, "the pending call to fail"), /Connection closed/);
    await withTimeout(closed, 5_000, "onclose");
    const lost = errors.find((error) => error instanceof McpServerProcessError) as McpServerProcessError;
    assert.ok(lost, `reported: ${errors.map((e) => e.message)}`);
    assert.match(lost.message, /exec-server transport disconnected/);
    assert.equal(lost.exitCode, null);
    await client.close();
  } finally {
    await executor?.close();
    proxy.close();
    await server.close();
  }
});

Deno.test("ExecutorStdioTransport frames split, joined and CRLF-terminated lines from a real process", async () => {
  const script = [
    `printf '{"jsonrpc":"2.0","method":"a"}\\n{"jsonrpc":"2.0","method":"b"}\\r\\n{"jsonrpc":"2.0",'`,
    "sleep 0.2",
    `printf '"method":"c"}\\n\\nnot json\\n{"jsonrpc":"2.0","method":"d"}'`,
    "echo oops >&2",
  ].join("; ");
  await withExecutor("websocket", async (source) => {
    const transport = new ExecutorStdioTransport(source, { command: "sh", args: ["-c", script], cwd: "/" }, {
      onStderr: (text) => stderr.push(text),
    });
    const stderr: string[] = [];
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    const closed = Promise.withResolvers<void>();
    transport.onmessage = (message) => messages.push(message);
    transport.onerror = (error) => errors.push(error);
    transport.onclose = () => closed.resolve();
    await transport.start();
    await withTimeout(closed.promise, 10_000, "the process to close");
    assert.deepEqual(messages.map((m) => (m as { method: string }).method), ["a", "b", "c", "d"]);
    assert.equal(errors.length, 2, errors.map((e) => e.message).join("; "));
    assert.match(errors[0].message, /invalid JSON-RPC message/);
    assert.ok(errors[1] instanceof McpServerProcessError);
    assert.equal(errors[1].exitCode, 0);
    assert.equal(stderr.join(""), "oops\n");
    await transport.close(); // idempotent after the process ended
  });
});

Deno.test("ExecutorStdioTransport start() rejects when the server cannot be spawned", async () => {
  await withExecutor("local", async (source) => {
    const client = new Client({ name: "mcp-stdio-test", version: "1.0.0" });
    const transport = new ExecutorStdioTransport(source, { command: "/nonexistent/mcp-server", cwd: "/" });
    await assert.rejects(client.connect(transport));
  });
});
