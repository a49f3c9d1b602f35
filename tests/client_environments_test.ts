import assert from "node:assert/strict";
import { EnvironmentManager } from "../src/client/environment_manager.ts";
import { parseEnvironmentsToml } from "../src/config/environments_toml.ts";
import { ExecServer } from "../src/server/exec_server.ts";
import { ExecServerClientError } from "../src/client/client_error.ts";
import { SERVER_ARGV, startInProcessServer } from "./support/servers.ts";
import { text } from "./client_test_util.ts";

Deno.test("EnvironmentManager runs `local` in-process and reaches websocket and stdio environments", async () => {
  const server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "client-envs-" });
  const toml = `
default = "ws"
[[environments]]
id = "ws"
url = "${server.url}"

[[environments]]
id = "child"
program = ${JSON.stringify(SERVER_ARGV[0])}
args = ${JSON.stringify([...SERVER_ARGV.slice(1), "--listen", "stdio"])}
env = { CLIENT_ENV_MARKER = "from-config" }
`;
  const manager = new EnvironmentManager(
    parseEnvironmentsToml(toml, { path: `${dir}/environments.toml`, configDir: dir }),
    { localServer: () => new ExecServer() },
  );
  try {
    assert.deepEqual(manager.environmentIds(), ["ws", "local", "child"]);
    assert.equal(manager.defaultEnvironment()?.id, "ws");
    assert.equal(manager.localEnvironment()?.isLocal, true);
    assert.equal(server.server.connectionCount, 0, "nothing connects before first use");

    const local = await manager.localEnvironment()!.client();
    assert.equal(local, await manager.getEnvironment("local")!.client(), "one client per environment");
    const localRun = await local.run(["sh", "-c", "echo local-$$"]);
    assert.match(text(localRun.stdout), /^local-\d+\n$/);
    await local.writeFile(`${dir}/from-local.txt`, "L");

    const ws = await manager.defaultEnvironment()!.client();
    assert.equal(text(await ws.readFile(`${dir}/from-local.txt`)), "L");
    assert.equal(server.server.connectionCount, 1);

    const child = await manager.getEnvironment("child")!.client();
    const marker = await child.run(["sh", "-c", 'printf %s "$CLIENT_ENV_MARKER"']);
    assert.equal(text(marker.stdout), "from-config", "stdio env is added to the inherited environment");
  } finally {
    await manager.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the client library loads no server, process, fs, http or sandbox code", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../src/client/mod.ts", import.meta.url).pathname],
    stderr: "inherit",
  }).output();
  assert.ok(output.success, "deno info failed");
  const modules: { specifier: string }[] = JSON.parse(new TextDecoder().decode(output.stdout)).modules;
  const src = new URL("../src/", import.meta.url).href;
  const rooms = new Set(
    modules.filter((m) => m.specifier.startsWith(src)).map((m) =>
      m.specifier.slice(src.length).split("/")[0]
    ),
  );
  assert.ok(rooms.has("client"), `the graph was read: ${[...rooms]}`);
  for (const room of ["server", "process", "fs", "http", "sandbox"]) {
    assert.ok(!rooms.has(room), `src/client/mod.ts loads src/${room}/`);
  }
});

Deno.test("`local` without an injected server fails to connect with a clear error", async () => {
  const manager = new EnvironmentManager(
    parseEnvironmentsToml("", { path: "/none/environments.toml", configDir: "/none" }),
  );
  try {
    const error = await manager.localEnvironment()!.client().then(() => null, (e) => e);
    assert.ok(error instanceof ExecServerClientError, String(error));
    assert.equal(error.kind, "connect");
    assert.match(error.message, /the `local` environment has no in-process server: pass `localServer`/);
  } finally {
    await manager.close();
  }
});
