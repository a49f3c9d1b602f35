import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { formatProgress } from "../src/cli/progress_bar.ts";
import { runCli } from "./client_test_util.ts";
import { requires } from "./support/requirements.ts";
import { MAIN_TS, startInProcessServer } from "./support/servers.ts";

Deno.test("exec-server version prints what --version prints", async () => {
  const word = await runCli(["version"]);
  const flag = await runCli(["--version"]);
  assert.equal(word.code, 0);
  assert.equal(word.stdout, `exec-server ${config.version}\n`);
  assert.equal(word.stdout, flag.stdout);
});

Deno.test("exec-server envs --json prints one parseable object per environment", async () => {
  const server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "cli-misc-" });
  const file = `${dir}/environments.toml`;
  await Deno.writeTextFile(
    file,
    `default = "box"\n[[environments]]\nid = "box"\nurl = "${server.url}"\n` +
      `[[environments]]\nid = "broken"\nprogram = "/nonexistent/exec-server"\nargs = ["--listen", "stdio"]\n`,
  );
  try {
    const checked = await runCli(["envs", "--json", "--config", file]);
    assert.equal(checked.code, 1, "one environment is unreachable");
    const list = JSON.parse(checked.stdout);
    const byId = Object.fromEntries(list.map((e: { id: string }) => [e.id, e]));
    assert.deepEqual(Object.keys(byId).sort(), ["box", "broken", "local"]);
    assert.equal(byId.box.default, true);
    assert.equal(byId.box.kind, "websocket");
    assert.equal(byId.box.url, server.url);
    assert.equal(byId.box.reachable, true);
    assert.equal(typeof byId.box.latencyMs, "number");
    assert.match(byId.box.shell, /^\//);
    assert.equal(byId.box.error, null);
    assert.equal(byId.local.kind, "local");
    assert.equal(byId.local.reachable, true);
    assert.equal(byId.broken.kind, "stdio");
    assert.equal(byId.broken.program, "/nonexistent/exec-server");
    assert.deepEqual(byId.broken.args, ["--listen", "stdio"]);
    assert.equal(byId.broken.reachable, false);
    assert.equal(byId.broken.latencyMs, null);
    assert.match(byId.broken.error, /failed to spawn/);

    const listed = await runCli(["envs", "--json", "--no-check", "--config", file]);
    assert.equal(listed.code, 0);
    for (const entry of JSON.parse(listed.stdout)) assert.equal(entry.reachable, null);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs bash with the completion script sourced: `_exec_server` for `line`, COMPREPLY printed. */
async function bashComplete(line: string): Promise<string> {
  const script = `source <("$EXEC_SERVER_DENO" run -A --quiet "$EXEC_SERVER_MAIN" completion bash) || exit 9
complete -p exec-server
read -ra COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_exec_server
echo "\${COMPREPLY[*]}"`;
  const output = await new Deno.Command("bash", {
    args: ["-c", script],
    env: { EXEC_SERVER_DENO: Deno.execPath(), EXEC_SERVER_MAIN: MAIN_TS, LINE: line },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

Deno.test("exec-server completion bash can be sourced and completes commands and options", async () => {
  const registered = await bashComplete("exec-server ");
  const [complete, commands] = registered.split("\n");
  assert.equal(complete, "complete -o default -F _exec_server exec-server");
  assert.deepEqual(commands.split(" ").slice(0, 11), [
    "serve",
    "run",
    "envs",
    "cp",
    "ps",
    "logs",
    "kill",
    "forward",
    "version",
    "completion",
    "help",
  ]);
  assert.equal((await bashComplete("exec-server cp --rec")).split("\n")[1], "--recursive");
  assert.equal((await bashComplete("exec-server envs --j")).split("\n")[1], "--json");
  assert.equal((await bashComplete("exec-server completion ")).split("\n")[1], "bash zsh -h --help");
  // A value-taking option's value is not mistaken for the command.
  assert.equal((await bashComplete("exec-server --listen stdio --retent")).split("\n")[1], "--retention");
  assert.equal((await bashComplete("exec-server run --env box --cw")).split("\n")[1], "--cwd");

  const bad = await runCli(["completion", "fish"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown shell `fish`/);
});

Deno.test("exec-server completion zsh registers with compinit", requires("zsh"), async () => {
  const home = await Deno.makeTempDir({ prefix: "cli-zsh-" });
  try {
    const script = `autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump"
source <("$EXEC_SERVER_DENO" run -A --quiet "$EXEC_SERVER_MAIN" completion zsh) || exit 9
print -r -- "$_comps[exec-server]"`;
    const output = await new Deno.Command("zsh", {
      args: ["-f", "-c", script],
      env: { HOME: home, EXEC_SERVER_DENO: Deno.execPath(), EXEC_SERVER_MAIN: MAIN_TS },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout), "_exec_server\n");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the cp progress line shows rate and time left, then the time taken", () => {
  const mib = 1024 * 1024;
  assert.equal(
    formatProgress("big.bin", 10 * mib, 40 * mib, 5),
    "big.bin [#####...............] 25% 10.0 MiB/40.0 MiB 2.0 MiB/s ETA 0:15",
  );
  assert.equal(
    formatProgress("big.bin", 40 * mib, 40 * mib, 125),
    "big.bin [####################] 100% 40.0 MiB/40.0 MiB 0.3 MiB/s 2:05",
  );
  assert.match(formatProgress("x", 0, 10, 0), /0\.0 MiB\/s ETA --:--$/);
});
