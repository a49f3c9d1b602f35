/**
 * Real Codex CLI turns against OUR server: the scripted shell command, tty + write_stdin, apply_patch
 * and view_image all run through it, over WebSocket and stdio, with Codex 0.140.0 (and 0.169.0, which
 * sends `file://` cwds) as the client. SERVER_TAG exists only in our server's environment, so seeing it
 * in the tool output proves the command ran in our server, not in Codex.
 */
import { join } from "node:path";
import { codexBinary, type CodexVersion } from "./codex/fetch_codex.ts";
import { runCodexTurn, type Selection, type ServerUnderTest } from "./codex/harness.ts";
import {
  assertBasicScenario,
  assertFullScenario,
  basicScenario,
  fullScenario,
  randomToken,
} from "./codex/scenarios.ts";
import { SERVER_ARGV, startWebSocketServer } from "./support/servers.ts";

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
