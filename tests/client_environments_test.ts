import assert from "node:assert/strict";
import { EnvironmentManager } from "../src/client/environment_manager.ts";
import { parseEnvironmentsToml } from "../src/config/environments_toml.ts";
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
