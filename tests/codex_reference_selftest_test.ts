/**
 * Self-test of the Codex end-to-end harness: real Codex CLI turns against the REFERENCE exec-server
 * (`codex exec-server` from the same binary), over WebSocket and stdio. If these fail, the harness is
 * broken, not our server.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { codexBinary, type CodexVersion } from "./codex/fetch_codex.ts";
import { type CodexTurnResult, runCodexTurn, type Selection, type ServerUnderTest } from "./codex/harness.ts";
import { startReferenceServer } from "./codex/reference_server.ts";
import {
  assertBasicScenario,
  assertFullScenario,
  basicScenario,
  execCommand,
  type Expectations,
  fullScenario,
  randomToken,
} from "./codex/scenarios.ts";

type Scenario = "basic" | "full";

/** Per-test scratch dirs: the turn's work dir and a scratch home for a stdio server. */
async function withScratch<T>(fn: (dirs: { work: string; serverHome: string }) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "codex-selftest-" });
  const work = join(root, "work");
  const serverHome = join(root, "server-home");
  await Deno.mkdir(work);
  await Deno.mkdir(serverHome);
  try {
    return await fn({ work, serverHome });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function runAndVerify(
  label: string,
  codex: string,
  server: ServerUnderTest,
  selection: Selection,
  scenario: Scenario,
  work: string,
  expect: Omit<Expectations, "token" | "runDir" | "workDir">,
): Promise<CodexTurnResult> {
  const token = randomToken();
  const steps = scenario === "basic" ? basicScenario(token, work) : fullScenario(token, work, work);
  const result = await runCodexTurn({ codex, server, selection, steps, workDir: work, timeoutMs: 60_000 });
  console.log(`${label}: ${scenario} turn took ${result.durationMs} ms`);
  const full = { ...expect, token, runDir: work, workDir: work };
  if (scenario === "basic") await assertBasicScenario(result, full);
  else await assertFullScenario(result, full);
  return result;
}

/** Runs `scenario` with `version` as client against the same version's server over WebSocket. */
async function websocketTurn(version: CodexVersion, selection: Selection, scenario: Scenario): Promise<void> {
  const codex = await codexBinary(version);
  const serverTag = `ws-${randomToken()}`;
  const server = await startReferenceServer({ codex, env: { SERVER_TAG: serverTag } });
  try {
    await withScratch(({ work }) =>
      runAndVerify(
        `${version} ws/${selection}`,
        codex,
        { kind: "websocket", url: server.url },
        selection,
        scenario,
        work,
        // The reference server spawns commands as its direct children.
        { serverTag, serverPid: server.pid },
      )
    );
  } finally {
    await server.close();
  }
}

/** Runs `scenario` with `version` as client against the same version's server, spawned by Codex over stdio. */
async function stdioTurn(version: CodexVersion, scenario: Scenario): Promise<void> {
  const codex = await codexBinary(version);
  const serverTag = `stdio-${randomToken()}`;
  await withScratch(({ work, serverHome }) =>
    runAndVerify(
      `${version} stdio/toml`,
      codex,
      {
        kind: "stdio",
        program: codex,
        args: ["exec-server", "--listen", "stdio"],
        // Only the server gets SERVER_TAG, so seeing it proves the command ran there.
        env: { SERVER_TAG: serverTag, CODEX_HOME: serverHome },
      },
      "toml",
      scenario,
      work,
      { serverTag },
    )
  );
}

Deno.test("codex 0.140.0 runs the basic turn on the reference server over websocket (environments.toml)", () =>
  websocketTurn("0.140.0", "toml", "basic"));

Deno.test("codex 0.140.0 runs the full turn on the reference server over websocket (environments.toml)", () =>
  websocketTurn("0.140.0", "toml", "full"));

Deno.test("codex 0.140.0 runs the basic turn on the reference server over websocket (CODEX_EXEC_SERVER_URL)", () =>
  websocketTurn("0.140.0", "env", "basic"));

Deno.test("codex 0.140.0 runs the basic turn on the reference server over stdio", () =>
  stdioTurn("0.140.0", "basic"));

Deno.test("codex 0.140.0 runs the full turn on the reference server over stdio", () =>
  stdioTurn("0.140.0", "full"));

Deno.test("codex 0.169.0 runs the basic turn on the 0.169.0 reference server over websocket", () =>
  websocketTurn("0.169.0", "toml", "basic"));

Deno.test("the basic-turn verifier rejects a turn whose exec-server is unreachable", async () => {
  const codex = await codexBinary("0.140.0");
  // A port that was just free: connecting to it is refused at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await withScratch(async ({ work }) => {
    const token = randomToken();
    const result = await runCodexTurn({
      codex,
      server: { kind: "websocket", url: `ws://127.0.0.1:${port}` },
      steps: basicScenario(token, work),
      workDir: work,
      timeoutMs: 60_000,
      serverTimeoutSec: 2,
    });
    // Recipe L4: the tool error goes back to the model and the turn still "succeeds".
    assert.equal(result.exitCode, 0);
    assert.ok(result.turnCompleted);
    await assert.rejects(
      assertBasicScenario(result, { token, runDir: work }),
      /lacks "hello-from-remote-42-/,
    );
  });
});

Deno.test("runCodexTurn kills Codex, its stdio server and the running command when the turn times out", async () => {
  const codex = await codexBinary("0.140.0");
  await withScratch(async ({ work, serverHome }) => {
    const pidFile = join(work, "command.pid");
    const result = await runCodexTurn({
      codex,
      server: {
        kind: "stdio",
        program: codex,
        args: ["exec-server", "--listen", "stdio"],
        env: { CODEX_HOME: serverHome },
      },
      // A long yield keeps Codex inside the tool call until the harness gives up.
      steps: [execCommand(`echo $$ > command.pid; exec sleep 120`, { yield_time_ms: 60_000 })],
      workDir: work,
      timeoutMs: 4000,
    });
    assert.equal(result.timedOut, true);
    assert.equal(result.turnCompleted, false);
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    assert.ok(pid > 0, "the command never started");
    // Teardown propagates asynchronously (Codex SIGTERMs the server, which kills the command): poll, bounded.
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = await exists(`/proc/${pid}`);
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alive, false, `command pid ${pid} survived the timeout`);
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
