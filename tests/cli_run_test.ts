/**
 * `exec-server run` held against `ssh host cmd`: options end at the command, `-e` sets the remote
 * environment, a closed output pipe stops the remote, Ctrl-C escalates, and failures name their cause.
 * Through the real CLI, real pipes and a real server.
 */
import assert from "node:assert/strict";
import { runCli } from "./client_test_util.ts";
import { countMarkedProcesses, MARKER_VAR, newMarker, waitForMarkedCount } from "./support/process_count.ts";
import { startInProcessServer } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";

const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

async function withServer(fn: (url: string) => Promise<void>): Promise<void> {
  const server = await startInProcessServer();
  try {
    await fn(server.url);
  } finally {
    await server.close();
  }
}

Deno.test("exec-server run: options end at the command; what follows is passed through untouched", async () => {
  await withServer(async (url) => {
    const result = await runCli(["run", "--url", url, "printf", "%s|", "-e", "--cwd", "-t"]);
    assert.equal(result.stdout, "-e|--cwd|-t|", result.stderr);
    assert.equal(result.code, 0);
    const listed = await runCli(["run", "--url", url, "--cwd", "/", "ls", "-d", "/"]);
    assert.equal(listed.stdout, "/\n", listed.stderr);
  });
});

Deno.test("exec-server run: -e NAME=VALUE (repeatable) and -e NAME set the remote environment", async () => {
  await withServer(async (url) => {
    const result = await runCli(
      [
        "run",
        "--url",
        url,
        "-e",
        "A=1",
        "-e",
        "B=two=2",
        "-e",
        "LOCAL_ONE",
        "sh",
        "-c",
        'echo "$A|$B|$LOCAL_ONE"',
      ],
      { env: { LOCAL_ONE: "from-here" } },
    );
    assert.equal(result.stdout, "1|two=2|from-here\n", result.stderr);
    const bad = await runCli(["run", "--url", url, "-e", "=x", "true"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-e expects NAME=VALUE, got `=x`/);
  });
});

Deno.test("exec-server run: a closed output pipe (run yes | head -n 1) ends the remote command at once", async () => {
  await withServer(async (url) => {
    const marker = newMarker("cli-pipe");
    const pipeline = new Deno.Command("sh", {
      args: [
        "-c",
        `"$0" run -A --quiet "$1" run --url "$2" -e ${MARKER_VAR}=${marker} yes | head -n 1`,
        Deno.execPath(),
        MAIN_TS,
        url,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const out = await withTimeout(pipeline.output(), 20_000, "the pipeline to end");
    assert.equal(new TextDecoder().decode(out.stdout), "y\n");
    await waitForMarkedCount(marker, (n) => n === 0, "the remote yes to be gone", 3_000);
  });
});

Deno.test("exec-server run: Ctrl-C interrupts, a second terminates a command that ignores SIGINT", async () => {
  await withServer(async (url) => {
    const marker = newMarker("cli-int");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        MAIN_TS,
        "run",
        "--url",
        url,
        "-e",
        `${MARKER_VAR}=${marker}`,
        "sh",
        "-c",
        "trap 'echo got-int' INT; echo ready; while :; do sleep 0.1; done",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const readUntil = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { value, done } = await withTimeout(reader.read(), 15_000, needle);
        if (done) throw new Error(`stdout ended before ${needle}: ${seen}`);
        seen += value;
      }
    };
    await readUntil("ready");
    child.kill("SIGINT");
    await readUntil("got-int");
    assert.equal(countMarkedProcesses(marker) > 0, true, "the first Ctrl-C only interrupts");
    child.kill("SIGINT");
    const status = await withTimeout(child.status, 15_000, "the CLI to exit");
    assert.equal(status.code, 128 + 15, "the remote was terminated (SIGTERM)");
    await waitForMarkedCount(marker, (n) => n === 0, "the remote command to be gone", 5_000);
    reader.releaseLock();
    await child.stderr.cancel();
  });
});

Deno.test("exec-server run: a missing --cwd is named, and a command line that needs a shell gets a hint", async () => {
  await withServer(async (url) => {
    const cwd = await runCli(["run", "--url", url, "--cwd", "/nonexistent-cwd-xyz", "ls"]);
    assert.equal(cwd.code, 127);
    assert.match(cwd.stderr, /--cwd \/nonexistent-cwd-xyz: no such directory on the remote side/);
    const shell = await runCli(["run", "--url", url, "ls | wc -l"]);
    assert.equal(shell.code, 127);
    assert.match(shell.stderr, /cannot start `ls \| wc -l`/);
    assert.match(shell.stderr, /hint: .*sh -c 'ls \| wc -l'/);
  });
});

Deno.test("exec-server run without --env and without a default says it runs on this machine", async () => {
  await withServer(async (url) => {
    const dir = await Deno.makeTempDir({ prefix: "cli-nodefault-" });
    try {
      const config = `${dir}/environments.toml`;
      await Deno.writeTextFile(config, `[[environments]]\nid = "box"\nurl = "${url}"\n`);
      const result = await runCli(["run", "--config", config, "true"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /running on this machine \(environment `local`\); configured: box/);
      const chosen = await runCli(["run", "--config", config, "--env", "box", "true"]);
      assert.equal(chosen.stderr, "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
