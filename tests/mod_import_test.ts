/**
 * The library as an outside project uses it: a script in a directory with no `deno.json` imports
 * `mod.ts` (everything) or `client.ts` (the client alone) by URL, and it works. The client entry does not
 * pull in the MCP SDK or the server.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function runOutside(source: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "outside-project-" });
  try {
    await Deno.writeTextFile(`${dir}/script.ts`, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--no-config", "--no-lock", "script.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mod.ts imports from a project without our deno.json and serves a client", async () => {
  const result = await runOutside(`
import { ExecServer, ExecServerClient, listenWebSocket } from "${new URL("mod.ts", ROOT)}";
const server = new ExecServer();
const listener = await listenWebSocket(server, { hostname: "127.0.0.1", port: 0 });
const client = await ExecServerClient.connect({ kind: "websocket", url: listener.url });
const { exitCode, stdout } = await client.run(["sh", "-c", "echo from-outside"]);
console.log(exitCode, new TextDecoder().decode(stdout).trim());
await client.close();
await listener.close();
await server.shutdown();
`);
  assert.equal(result.stdout, "0 from-outside\n", result.stderr);
});

Deno.test("client.ts imports from outside and loads neither the server nor the MCP SDK", async () => {
  const result = await runOutside(`
import { ExecServerClient, parseEnvironmentsToml } from "${new URL("client.ts", ROOT)}";
console.log(typeof ExecServerClient.connect, typeof parseEnvironmentsToml);
`);
  assert.equal(result.stdout, "function function\n", result.stderr);
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("client.ts", ROOT).href],
    stdout: "piped",
    stderr: "null",
  }).output();
  const modules: string[] = JSON.parse(new TextDecoder().decode(info.stdout)).modules.map((
    m: { specifier: string },
  ) => m.specifier);
  assert.ok(modules.length > 10);
  for (const specifier of modules) {
    assert.doesNotMatch(
      specifier,
      /modelcontextprotocol|\/src\/(server|mcp|process|sandbox|fs|http)\//,
      specifier,
    );
  }
});
