import assert from "node:assert/strict";
import { join } from "node:path";
import { EnvironmentManager } from "../src/client/environment_manager.ts";
import { parseEnvironmentsToml } from "../src/config/environments_toml.ts";
import { SERVER_ARGV, withTokenServer } from "./support/servers.ts";

Deno.test("EnvironmentManager sends the bearer token from auth_token_file and from auth_token_env", async () => {
  const token = `tok-${crypto.randomUUID()}`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "token"), `${token}\n`);
    await withTokenServer(token, async (url) => {
      const config = parseEnvironmentsToml(
        `include_local = false
default = "by_file"
[[environments]]
id = "by_file"
url = "${url}"
auth_token_file = "token"
[[environments]]
id = "by_env"
url = "${url}"
auth_token_env = "EXEC_SERVER_TEST_TOKEN"
[[environments]]
id = "no_token"
url = "${url}"
connect_timeout_sec = 5
`,
        { path: join(dir, "environments.toml"), configDir: dir },
      );
      const manager = new EnvironmentManager(config, { env: { EXEC_SERVER_TEST_TOKEN: token } });
      try {
        for (const id of ["by_file", "by_env"]) {
          const client = await manager.getEnvironment(id)!.client();
          assert.ok((await client.environmentInfo()).shell, id);
        }
        await assert.rejects(manager.getEnvironment("no_token")!.client(), /401/);
      } finally {
        await manager.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec-server run --url takes the token from --token-file or --token-env", async () => {
  const token = `tok-${crypto.randomUUID()}`;
  const dir = await Deno.makeTempDir();
  try {
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, token);
    await withTokenServer(token, async (url) => {
      const run = (flags: string[], env: Record<string, string> = {}) =>
        new Deno.Command(SERVER_ARGV[0], {
          args: [
            ...SERVER_ARGV.slice(1),
            "run",
            "--url",
            url,
            ...flags,
            "--",
            "sh",
            "-c",
            "echo authed; exit 3",
          ],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
      for (
        const [flags, env] of [[["--token-file", tokenFile], {}], [["--token-env", "TOK"], {
          TOK: token,
        }]] as const
      ) {
        const out = await run([...flags], env);
        assert.equal(out.code, 3, new TextDecoder().decode(out.stderr));
        assert.equal(new TextDecoder().decode(out.stdout), "authed\n");
      }
      const denied = await run([]);
      assert.equal(denied.code, 255);
      assert.match(new TextDecoder().decode(denied.stderr), /401/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
