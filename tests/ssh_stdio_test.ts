import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { requires } from "./support/requirements.ts";
import { EnvironmentManager } from "../src/client/environment_manager.ts";
import { runCli, text } from "./client_test_util.ts";
import { withTimeout } from "./support/waiting.ts";
import { MAIN_TS } from "./support/servers.ts";
import { type Sshd, startSshd } from "./support/sshd.ts";

/** An environments.toml whose `ssh` entry runs our server over ssh (Codex's Example 2 shape). */
async function withSshEnvironment(fn: (config: string, dir: string, sshd: Sshd) => Promise<void>) {
  const sshd = await startSshd();
  const dir = await Deno.makeTempDir({ prefix: "ssh-env-" });
  try {
    const config = `${dir}/environments.toml`;
    const remoteCommand = `${Deno.execPath()} run -A --quiet ${MAIN_TS} --listen stdio`;
    await Deno.writeTextFile(
      config,
      `default = "ssh"\ninclude_local = false\n\n[[environments]]\nid = "ssh"\nprogram = "ssh"\nargs = ${
        JSON.stringify([...sshd.sshArgs, remoteCommand])
      }\ninitialize_timeout_sec = 30\n`,
    );
    await fn(config, dir, sshd);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- sshd log ---\n${sshd.log()}`, { cause: error });
  } finally {
    await sshd.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function pidAlive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  ...requires("openssh-server", "openssh-client"),
  name: "ExecServerClient over an ssh stdio environment runs commands and file operations",
  fn: async () => {
    await withSshEnvironment(async (config, dir) => {
      const manager = await EnvironmentManager.load({ configPath: config });
      let serverPid = 0;
      try {
        const client = await manager.defaultEnvironment()!.client();
        assert.equal(client.transportKind, "stdio");
        // SSH_CONNECTION proves the command ran in the ssh session; $PPID is the remote exec-server.
        const result = await client.run(["sh", "-c", 'echo "$SSH_CONNECTION"; echo $PPID; exit 9']);
        assert.equal(result.exitCode, 9);
        const [connection, ppid] = text(result.stdout).trim().split("\n");
        assert.match(connection, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
        serverPid = Number(ppid);
        await client.writeFile(`${dir}/over-ssh.txt`, "through ssh");
        assert.equal(await Deno.readTextFile(`${dir}/over-ssh.txt`), "through ssh");
        assert.equal(text(await client.readFile(`${dir}/over-ssh.txt`, { offset: 8 })), "ssh");
        assert.deepEqual((await client.readDirectory(dir)).map((e) => e.fileName).sort(), [
          "environments.toml",
          "over-ssh.txt",
        ]);
        assert.equal((await client.environmentInfo()).shell.path.startsWith("/"), true);
      } finally {
        await manager.close();
      }
      // Closing the client ends the ssh session, and with it the remote server (no orphans).
      for (let i = 0; i < 100 && await pidAlive(serverPid); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await pidAlive(serverPid), false, `remote exec-server ${serverPid} outlived its client`);
    });
  },
});

Deno.test({
  ...requires("openssh-server", "openssh-client"),
  name: "exec-server run and cp reach an ssh stdio environment",
  fn: async () => {
    await withSshEnvironment(async (config, dir) => {
      const run = await withTimeout(
        runCli([
          "run",
          "--env",
          "ssh",
          "--config",
          config,
          "--",
          "sh",
          "-c",
          "read x; echo got-$x; echo e >&2; exit 3",
        ], {
          stdin: "line\n",
        }),
        60_000,
        "exec-server run over ssh",
      );
      assert.equal(run.stdout, "got-line\n");
      assert.equal(run.stderr, "e\n");
      assert.equal(run.code, 3);
      const payload = crypto.getRandomValues(new Uint8Array(65_536));
      await Deno.writeFile(`${dir}/payload.bin`, payload);
      const up = await runCli(["cp", "--config", config, `${dir}/payload.bin`, `ssh:${dir}/uploaded.bin`]);
      assert.equal(up.code, 0, up.stderr);
      const down = await runCli([
        "cp",
        "--config",
        config,
        `ssh:${dir}/uploaded.bin`,
        `${dir}/downloaded.bin`,
      ]);
      assert.equal(down.code, 0, down.stderr);
      const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
      assert.equal(digest(await Deno.readFile(`${dir}/downloaded.bin`)), digest(payload));
    });
  },
});
