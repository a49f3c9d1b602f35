/**
 * Real Codex CLI turns against OUR server: the scripted shell command, tty + write_stdin, apply_patch
 * and view_image all run through it, over WebSocket and stdio, with Codex 0.140.0 (and 0.169.0, which
 * sends `file://` cwds) as the client. SERVER_TAG exists only in our server's environment, so seeing it
 * in the tool output proves the command ran in our server, not in Codex.
 */
import { join } from "node:path";
import assert from "node:assert/strict";
import { cacheRoot, codexBinary, type CodexVersion } from "./codex/fetch_codex.ts";
import { describeTurn, runCodexTurn, type Selection, type ServerUnderTest } from "./codex/harness.ts";
import type { ScriptedStep } from "./codex/mock_responses.ts";
import {
  assertBasicScenario,
  assertFullScenario,
  assertOutputContains,
  assertTurnCompleted,
  basicScenario,
  execCommand,
  fullScenario,
  randomToken,
} from "./codex/scenarios.ts";
import { SERVER_ARGV, startInProcessServer, startWebSocketServer } from "./support/servers.ts";

type Scenario = "basic" | "full";

async function turn(
  version: CodexVersion,
  transport: "websocket" | "stdio",
  scenario: Scenario,
  selection: Selection = "toml",
): Promise<void> {
  const codex = await codexBinary(version);
  const root = await Deno.makeTempDir({ prefix: "codex-ours-" });
  const work = join(root, "work");
  await Deno.mkdir(work);
  const serverTag = `ours-${randomToken()}`;
  const wsServer = transport === "websocket"
    ? await startWebSocketServer([], { SERVER_TAG: serverTag })
    : null;
  try {
    const server: ServerUnderTest = wsServer ? { kind: "websocket", url: wsServer.url! } : {
      kind: "stdio",
      program: SERVER_ARGV[0],
      args: [...SERVER_ARGV.slice(1), "--listen", "stdio"],
      env: { SERVER_TAG: serverTag },
    };
    const token = randomToken();
    const steps = scenario === "basic" ? basicScenario(token, work) : fullScenario(token, work, work);
    const result = await runCodexTurn({ codex, server, selection, steps, workDir: work, timeoutMs: 90_000 });
    const expect = {
      token,
      serverTag,
      runDir: work,
      workDir: work,
      // Over WebSocket our server is a separate process: the command must be its direct child.
      ...(wsServer ? { serverPid: wsServer.child.pid } : {}),
    };
    if (scenario === "basic") await assertBasicScenario(result, expect);
    else await assertFullScenario(result, expect);
  } finally {
    await wsServer?.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("codex 0.140.0 runs the basic turn through our server over websocket (environments.toml)", () =>
  turn("0.140.0", "websocket", "basic"));

Deno.test("codex 0.140.0 runs the basic turn through our server over websocket (CODEX_EXEC_SERVER_URL)", () =>
  turn("0.140.0", "websocket", "basic", "env"));

Deno.test("codex 0.140.0 runs the full turn (tty, write_stdin, apply_patch, view_image) through our server over websocket", () =>
  turn("0.140.0", "websocket", "full"));

Deno.test("codex 0.140.0 runs the full turn through our server over stdio", () =>
  turn("0.140.0", "stdio", "full"));

Deno.test("codex 0.169.0 runs the basic turn through our server over websocket", () =>
  turn("0.169.0", "websocket", "basic"));

Deno.test("codex 0.169.0 runs the full turn through our server over stdio", () =>
  turn("0.169.0", "stdio", "full"));

Deno.test("codex 0.171.0 runs the basic turn through our server over websocket", () =>
  turn("0.171.0", "websocket", "basic"));

Deno.test("codex 0.171.0 runs the full turn through our server over stdio", () =>
  turn("0.171.0", "stdio", "full"));

Deno.test("codex 0.171.0 makes no recovery process/read and uses fs/watchMissing through our server", async () => {
  // With environmentInfo advertised and sandboxDenied on every exited notification, 0.171 reads output
  // from notifications only: a recovery read (afterSeq: exited.seq - 1, waitMs: 0) would show up here.
  const server = await startInProcessServer();
  const calls: string[] = [];
  const lookup = server.server.methods.get.bind(server.server.methods);
  server.server.methods.get = (method: string) => {
    calls.push(method);
    return lookup(method);
  };
  const root = await Deno.makeTempDir({ prefix: "codex-frames-" });
  try {
    const token = randomToken();
    const result = await runCodexTurn({
      codex: await codexBinary("0.171.0"),
      server: { kind: "websocket", url: server.url },
      steps: fullScenario(token, root, root),
      workDir: root,
      timeoutMs: 90_000,
    });
    await assertFullScenario(result, { token, runDir: root, workDir: root });
    assert.ok(calls.includes("fs/watchMissing"), `0.171 did not call fs/watchMissing: ${calls.join(", ")}`);
    assert.equal(calls.filter((m) => m === "process/read").length, 0, `calls: ${calls.join(", ")}`);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * `--sandbox workspace-write --add-dir D`: a command and apply_patch write into D (0.169+ list D only in
 * `workspaceRoots`; 0.140 sandboxes itself as `codex-linux-sandbox`), while a write outside the roots is
 * refused by the sandbox. The dirs sit outside /tmp, which workspace-write leaves writable.
 */
async function workspaceWriteTurn(version: CodexVersion, transport: "websocket" | "stdio"): Promise<void> {
  await Deno.mkdir(cacheRoot(), { recursive: true });
  const root = await Deno.makeTempDir({ dir: cacheRoot(), prefix: "codex-add-dir-" });
  const work = join(root, "work");
  const added = join(root, "added");
  await Deno.mkdir(work);
  await Deno.mkdir(added);
  const wsServer = transport === "websocket" ? await startWebSocketServer() : null;
  try {
    const server: ServerUnderTest = wsServer ? { kind: "websocket", url: wsServer.url! } : {
      kind: "stdio",
      program: SERVER_ARGV[0],
      args: [...SERVER_ARGV.slice(1), "--listen", "stdio"],
    };
    const token = randomToken();
    const steps: ScriptedStep[] = [
      execCommand(`echo cmd-${token} > ${added}/cmd.txt && echo wrote-${token}`),
      {
        kind: "custom_tool_call",
        name: "apply_patch",
        input: `*** Begin Patch\n*** Add File: ${added}/patched.txt\n+patched-${token}\n*** End Patch\n`,
      },
      execCommand(`echo x > ${root}/outside.txt; echo rc=$?`),
    ];
    const result = await runCodexTurn({
      codex: await codexBinary(version),
      server,
      steps,
      workDir: work,
      timeoutMs: 90_000,
      sandboxMode: "workspace-write",
      extraArgs: ["--add-dir", added],
    });
    assertTurnCompleted(result);
    assertOutputContains(result, 0, "exec_command", [`wrote-${token}`, "Process exited with code 0"]);
    assertOutputContains(result, 1, "apply_patch", ["Success"]);
    assertOutputContains(result, 2, "exec_command", ["Read-only file system", "rc=1"]);
    const context = describeTurn(result);
    assert.equal(await Deno.readTextFile(join(added, "cmd.txt")), `cmd-${token}\n`, context);
    assert.equal(await Deno.readTextFile(join(added, "patched.txt")), `patched-${token}\n`, context);
    await assert.rejects(Deno.stat(join(root, "outside.txt")), Deno.errors.NotFound);
  } finally {
    await wsServer?.close();
    await Deno.remove(root, { recursive: true });
  }
}

for (
  const [version, transport] of [
    ["0.171.0", "websocket"],
    ["0.171.0", "stdio"],
    ["0.169.0", "websocket"],
    ["0.169.0", "stdio"],
    ["0.140.0", "websocket"],
  ] as const
) {
  Deno.test(`codex ${version} with --sandbox workspace-write --add-dir writes into the added dir over ${transport}`, () =>
    workspaceWriteTurn(version, transport));
}
