/**
 * The server's results and the protocol's result schemas cannot drift: every method in `REQUESTS` is called
 * once through the test peer, which checks each successful result against its method's schema (and rejects
 * members the schema does not declare). Adding a method to `REQUESTS` without calling it here fails.
 */
import assert from "node:assert/strict";
import { REQUESTS } from "../src/protocol/methods.ts";
import { createMemoryTransportPair } from "../src/client/memory_transport.ts";
import { ResultSchemaError, resultSchemaProblem, RpcPeer, textb64 } from "./support/rpc_peer.ts";
import { withPeer } from "./support/servers.ts";
import { bashStart } from "./support/process_start.ts";

Deno.test("resultSchemaProblem accepts a matching result and names a wrong type or an undeclared member", () => {
  assert.equal(resultSchemaProblem("process/start", { processId: "p" }), null);
  assert.match(resultSchemaProblem("process/start", { processId: 1 }) ?? "", /processId/);
  assert.equal(
    resultSchemaProblem("process/terminate", { running: true, extra: 1 }),
    "member `extra` is not in the schema",
  );
  assert.equal(
    resultSchemaProblem("fs/readDirectory", {
      entries: [{ fileName: "a", isDirectory: false, isFile: true, isSymlink: false }],
    }),
    "member `entries[0].isSymlink` is not in the schema",
  );
  assert.equal(
    resultSchemaProblem("no/such/method", { anything: true }),
    null,
    "unknown methods only get errors",
  );
});

Deno.test("RpcPeer.request rejects a result that does not match its method's schema", async () => {
  const [peerSide, serverSide] = createMemoryTransportPair("drifting server");
  serverSide.start({
    onMessage: (text) => {
      const { id } = JSON.parse(text);
      serverSide.send(JSON.stringify({ jsonrpc: "2.0", id, result: { running: "yes" } }));
    },
    onFramingError: () => {},
    onClose: () => {},
  });
  const peer = new RpcPeer(peerSide);
  await assert.rejects(peer.request("process/terminate", { processId: "p" }), ResultSchemaError);
  peer.close();
});

Deno.test("every method's result matches its protocol result schema", async () => {
  const called = new Set<string>(["initialize"]); // the handshake goes through the checking peer too
  const dir = await Deno.makeTempDir({ prefix: "result-schemas-" });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response("ok"));
  try {
    await withPeer("websocket", async (peer) => {
      const call = async (method: string, params: unknown) => {
        called.add(method);
        const reply = await peer.request(method, params);
        assert.equal(reply.error, undefined, `${method}: ${JSON.stringify(reply.error)}`);
        return reply.result;
      };
      await call("environment/info", null);
      await call("environment/status", null);

      // Discovery and config read this process's $CODEX_HOME: point it at the fixture for these calls.
      const codexHome = Deno.env.get("CODEX_HOME");
      Deno.env.set("CODEX_HOME", `${dir}/ch`);
      try {
        await Deno.mkdir(`${dir}/ch/skills/s/agents`, { recursive: true });
        await Deno.writeTextFile(`${dir}/ch/skills/s/SKILL.md`, "---\nname: s\ndescription: d\n---\n");
        await Deno.writeTextFile(
          `${dir}/ch/skills/s/agents/openai.yaml`,
          "policy:\n  products: [codex]\ndependencies:\n  tools:\n    - type: mcp\n      value: v\n",
        );
        const plugin = `${dir}/ch/plugins/cache/mk/p/1.0.0`;
        await Deno.mkdir(`${plugin}/.codex-plugin`, { recursive: true });
        await Deno.writeTextFile(`${plugin}/.codex-plugin/plugin.json`, '{"name":"p"}');
        await Deno.writeTextFile(`${plugin}/.mcp.json`, "{}");
        await Deno.mkdir(`${plugin}/skills/x`, { recursive: true });
        await Deno.writeTextFile(`${plugin}/skills/x/SKILL.md`, "---\nname: x\ndescription: d\n---\n");
        await Deno.mkdir(`${dir}/ch/.codex-plugin`);
        await Deno.writeTextFile(`${dir}/ch/.codex-plugin/plugin.json`, "{}");
        await Deno.writeTextFile(`${dir}/ch/config.toml`, 'model = "m"\n[mcp_servers.a]\ncommand = "c"\n');
        await call("capabilities/discoverV2", { cwd: `file://${dir}` });
        await call("capabilityRoots/discoverV1", { roots: [{ id: "r", path: `file://${dir}/ch` }] });
        await call("environmentConfig/read", {
          cwd: `file://${dir}`,
          configPaths: [["model"], ["mcp_servers"]],
          requirementsPaths: [],
        });
      } finally {
        if (codexHome === undefined) Deno.env.delete("CODEX_HOME");
        else Deno.env.set("CODEX_HOME", codexHome);
      }

      await call("process/start", bashStart("pipe", "cat", { pipeStdin: true, ackMode: "read" }));
      await call("process/write", { processId: "pipe", chunk: textb64("hello\n") });
      await call("process/closeStdin", { processId: "pipe" });
      await peer.waitClosed("pipe");
      const read = await call("process/read", { processId: "pipe", afterSeq: 0 });
      await call("process/ack", { processId: "pipe", seq: read.nextSeq - 1 });

      await call("process/start", bashStart("tty", "sleep 30", { tty: true }));
      await call("process/resize", { processId: "tty", rows: 30, cols: 100 });
      await call("process/signal", { processId: "tty", signal: "terminate" });
      await call("process/terminate", { processId: "tty" });

      const file = `${dir}/a.txt`;
      await call("fs/writeFile", { path: file, dataBase64: textb64("data") });
      await call("fs/readFile", { path: file });
      await call("fs/readFile", { path: file, offset: 1, length: 2 }); // the ranged extension adds size and eof
      await call("fs/writeFile", { path: file, dataBase64: textb64("more"), append: true });
      await call("fs/createDirectory", { path: `${dir}/sub` });
      await call("fs/getMetadata", { path: file });
      await call("fs/canonicalize", { path: file });
      await call("fs/readDirectory", { path: dir });
      await call("fs/copy", { sourcePath: file, destinationPath: `${dir}/b.txt`, recursive: false });
      await call("fs/remove", { path: `${dir}/b.txt` });
      await call("fs/open", { handleId: "w", path: `${dir}/c.txt`, mode: "replace" });
      await call("fs/writeBlock", { handleId: "w", offset: 0, chunk: textb64("block") });
      await call("fs/close", { handleId: "w" });
      await call("fs/open", { handleId: "r", path: `${dir}/c.txt` });
      await call("fs/readBlock", { handleId: "r", offset: 0, len: 16 });
      await call("fs/close", { handleId: "r" });
      await call("fs/walk", {
        path: dir,
        options: { maxDepth: 2, maxDirectories: 10, maxEntries: 100, followDirectorySymlinks: false },
      });
      await call("fs/watchMissing", { watchId: 1, missing: [`${dir}/not-yet`] });

      await call("http/request", {
        method: "GET",
        url: `http://127.0.0.1:${http.addr.port}/`,
        requestId: "h1",
      });
      await call("http/cancel", { requestId: "h1" });
    });
  } finally {
    await http.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual([...called].sort(), Object.keys(REQUESTS).sort(), "every method in REQUESTS was called");
});
