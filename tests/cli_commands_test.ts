import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runCli } from "./client_test_util.ts";
import { startInProcessServer } from "./support/servers.ts";

async function withConfig(fn: (config: string, dir: string, url: string) => Promise<void>) {
  const server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "cli-" });
  const config = `${dir}/environments.toml`;
  await Deno.writeTextFile(config, `default = "box"\n[[environments]]\nid = "box"\nurl = "${server.url}"\n`);
  try {
    await fn(config, dir, server.url);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("exec-server run streams output and exits with the remote exit code", async () => {
  await withConfig(async (config) => {
    const result = await runCli([
      "run",
      "--config",
      config,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 42",
    ]);
    assert.equal(result.code, 42);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
    const killed = await runCli([
      "run",
      "--config",
      config,
      "--env",
      "box",
      "--",
      "sh",
      "-c",
      "kill -TERM $$",
    ]);
    assert.equal(killed.code, 128 + 15);
    const local = await runCli(["run", "--config", config, "--env", "local", "--cwd", "/", "--", "pwd"]);
    assert.equal(local.stdout, "/\n");
    assert.equal(local.code, 0);
  });
});

Deno.test("exec-server run forwards stdin and reports usage, start and connection errors", async () => {
  await withConfig(async (config, _dir, url) => {
    const echoed = await runCli(["run", "--url", url, "--", "sh", "-c", "tr a-z A-Z; echo done"], {
      stdin: "hello stdin\n",
    });
    assert.equal(echoed.stdout, "HELLO STDIN\ndone\n");
    assert.equal(echoed.code, 0);
    const usage = await runCli(["run", "--config", config]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing command to run/);
    const unknownEnv = await runCli(["run", "--config", config, "--env", "nope", "--", "true"]);
    assert.equal(unknownEnv.code, 2);
    assert.match(unknownEnv.stderr, /unknown environment `nope`/);
    const missing = await runCli(["run", "--config", config, "--", "/nonexistent/program"]);
    assert.equal(missing.code, 127);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUrl = `ws://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const refused = await runCli(["run", "--url", deadUrl, "--", "true"]);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /^exec-server run: failed to connect to exec-server websocket/);
    const help = await runCli(["run", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exit status:/);
  });
});

Deno.test("exec-server envs lists environments and checks each one", async () => {
  await withConfig(async (config, dir) => {
    await Deno.writeTextFile(
      config,
      (await Deno.readTextFile(config)) +
        `[[environments]]\nid = "broken"\nprogram = "/nonexistent/exec-server"\n`,
    );
    const result = await runCli(["envs", "--config", config]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^\s+ID\s+KIND\s+TARGET\s+STATUS$/);
    assert.match(lines[1], /^\* box\s+websocket\s+ws:\/\/127\.0\.0\.1:\d+\s+ok \d+ms shell=\//);
    assert.match(lines[2], /^ {2}local\s+local\s+in-process\s+ok \d+ms shell=\//);
    assert.match(
      lines[3],
      /^ {2}broken\s+stdio\s+\/nonexistent\/exec-server\s+error: failed to spawn exec-server: No such file/,
    );
    const listed = await runCli(["envs", "--config", config, "--no-check"]);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /broken/);
    await Deno.writeTextFile(`${dir}/bad.toml`, `bogus = 1\n`);
    const bad = await runCli(["envs", "--config", `${dir}/bad.toml`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown field `bogus`/);
  });
});

Deno.test("exec-server cp copies both directions in pieces with matching checksums", async () => {
  await withConfig(async (config, dir) => {
    const data = crypto.getRandomValues(new Uint8Array(60_000));
    const big = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += data.length) {
      big.set(data.subarray(0, Math.min(data.length, big.length - i)), i);
    }
    await Deno.writeFile(`${dir}/src.bin`, big);
    await Deno.mkdir(`${dir}/remote`);
    const up = await runCli([
      "cp",
      "--config",
      config,
      "--piece-bytes",
      "1000000",
      `${dir}/src.bin`,
      `box:${dir}/remote/`,
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stderr, "", "no progress bar when stderr is not a terminal");
    assert.equal(sha256(await Deno.readFile(`${dir}/remote/src.bin`)), sha256(big));
    const down = await runCli([
      "cp",
      "--config",
      config,
      "--piece-bytes",
      "700000",
      `box:${dir}/remote/src.bin`,
      `${dir}/back.bin`,
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(await Deno.readFile(`${dir}/back.bin`)), sha256(big));
    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    assert.equal(
      (await runCli(["cp", "--config", config, `${dir}/empty`, `box:${dir}/remote/empty`])).code,
      0,
    );
    assert.equal((await Deno.stat(`${dir}/remote/empty`)).size, 0);
    const missing = await runCli(["cp", "--config", config, `box:${dir}/nope`, `${dir}/x`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such file or directory/);
  });
});
