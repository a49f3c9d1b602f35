/**
 * Runs one real Codex CLI turn (`codex exec --json`) against an exec-server under test, with the
 * model replaced by a scripted mock Responses API on 127.0.0.1.
 *
 * Recipe: shared/reference/codex-cli-as-client.md §4, §5 and §8.
 *
 * @module
 */

import { join } from "node:path";
import {
  DEFAULT_SENTINEL,
  type ScriptedStep,
  startMockResponses,
  type ToolOutput,
} from "./mock_responses.ts";
import { statusWithin, stopGroup, StreamText } from "./process_group.ts";

/** The exec-server the turn runs against. */
export type ServerUnderTest =
  /** An already-listening WebSocket server. */
  | { kind: "websocket"; url: string }
  /** A command Codex spawns itself and talks NDJSON to over stdin/stdout (TOML selection only). */
  | { kind: "stdio"; program: string; args?: string[]; env?: Record<string, string>; cwd?: string };

/**
 * How Codex is told about the server: `environments.toml`, the legacy `CODEX_EXEC_SERVER_URL`, or not at
 * all (`none`: the caller's `env` selects it, e.g. the `CODEX_EXEC_SERVER_NOISE_*` registry variables).
 */
export type Selection = "toml" | "env" | "none";

/** Options for {@linkcode runCodexTurn}. */
export interface RunCodexTurnOptions {
  /** Path of the native `codex` client binary (see `fetch_codex.ts`). */
  codex: string;
  server: ServerUnderTest;
  /** Default `"toml"`. `"env"` requires a websocket server. */
  selection?: Selection;
  /** The scripted model actions (see `scenarios.ts`). */
  steps: readonly ScriptedStep[];
  /** Working directory Codex runs in; becomes `process/start.cwd`. Must exist. */
  workDir: string;
  /** Prompt text. The mock ignores it. */
  prompt?: string;
  /** Whole-turn bound; the Codex process group is killed when it expires. Default 90 s. */
  timeoutMs?: number;
  /** `sandbox_mode` in config.toml. Default `danger-full-access` (see the recipe's limitation L2). */
  sandboxMode?: string;
  /** `initialize_timeout_sec` / `connect_timeout_sec` for the TOML entry. Default 10. */
  serverTimeoutSec?: number;
  /** Extra environment for the Codex client process. */
  env?: Record<string, string>;
  /** Extra `codex exec` arguments before the prompt (e.g. `--add-dir D`). */
  extraArgs?: string[];
  /**
   * Where to keep per-run artefacts (client CODEX_HOME, raw requests, stdout, stderr). When omitted a
   * temp dir is used and removed after the run, unless `keepArtifacts` is set.
   */
  artifactsDir?: string;
  keepArtifacts?: boolean;
}

/** Everything observed during one turn. */
export interface CodexTurnResult {
  /** Codex exit code (`null` if killed by a signal). */
  exitCode: number | null;
  signal: Deno.Signal | null;
  /** True when the turn hit `timeoutMs` and Codex was killed. */
  timedOut: boolean;
  durationMs: number;
  /** Parsed `--json` events from stdout, in order. */
  events: Record<string, unknown>[];
  stdout: string;
  stderr: string;
  /** True if stdout had a `turn.completed` event. */
  turnCompleted: boolean;
  /** Text of the last `agent_message` item, if any. */
  finalMessage: string | undefined;
  /** The sentinel the mock ends the turn with. */
  sentinel: string;
  /** Every raw request body Codex sent to the mock, parsed. */
  modelRequests: unknown[];
  /** Tool outputs the model received for the scripted calls, in step order. */
  toolOutputs: ToolOutput[];
  /** Mock-side problems (unexpected paths, script errors). */
  mockErrors: string[];
  /** Artefact directory, if it was kept. */
  artifactsDir: string | undefined;
}

/** Builds the client `config.toml` of the recipe (§4) for a mock provider at `mockBaseUrl`. */
export function clientConfigToml(mockBaseUrl: string, sandboxMode = "danger-full-access"): string {
  return [
    `model = "gpt-5.5"`, // bundled metadata in 0.140 and 0.169, so apply_patch is offered
    `model_provider = "mock"`,
    `approval_policy = "never"`,
    `sandbox_mode = ${tomlString(sandboxMode)}`,
    `check_for_update_on_startup = false`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    `[features]`, // otherwise Codex contacts chatgpt.com / github.com at startup
    `plugins = false`,
    `apps = false`,
    ``,
    `[model_providers.mock]`,
    `name = "mock"`,
    `base_url = ${tomlString(mockBaseUrl)}`,
    `wire_api = "responses"`,
    `request_max_retries = 0`,
    `stream_max_retries = 0`,
    ``,
  ].join("\n");
}

/** Builds an `environments.toml` with one default environment `remote` and no local environment. */
export function environmentsToml(server: ServerUnderTest, timeoutSec = 10): string {
  const lines = [`default = "remote"`, `include_local = false`, ``, `[[environments]]`, `id = "remote"`];
  if (server.kind === "websocket") {
    lines.push(`url = ${tomlString(server.url)}`, `connect_timeout_sec = ${timeoutSec}`);
  } else {
    lines.push(`program = ${tomlString(server.program)}`);
    lines.push(`args = [${(server.args ?? []).map(tomlString).join(", ")}]`);
    const env = Object.entries(server.env ?? {}).map(([k, v]) => `${tomlString(k)} = ${tomlString(v)}`);
    lines.push(`env = { ${env.join(", ")} }`);
    if (server.cwd !== undefined) lines.push(`cwd = ${tomlString(server.cwd)}`);
  }
  lines.push(`initialize_timeout_sec = ${timeoutSec}`, ``);
  return lines.join("\n");
}

/** A TOML basic string. JSON string escapes are a subset of TOML's. */
function tomlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Runs `codex exec --skip-git-repo-check --json "<prompt>" </dev/null` in `workDir` against the
 * server under test and returns what happened. Never throws for a failed turn: judge the result
 * (the recipe's L4: a broken server still yields exit code 0).
 */
export async function runCodexTurn(options: RunCodexTurnOptions): Promise<CodexTurnResult> {
  const selection = options.selection ?? "toml";
  if (selection === "env" && options.server.kind !== "websocket") {
    throw new Error("selection 'env' (CODEX_EXEC_SERVER_URL) only supports a websocket server");
  }
  const keep = options.artifactsDir !== undefined || options.keepArtifacts === true;
  const artifactsDir = options.artifactsDir ?? await Deno.makeTempDir({ prefix: "codex-turn-" });
  const codexHome = join(artifactsDir, "codex-home");
  const requestsDir = join(artifactsDir, "requests");
  await Deno.mkdir(codexHome, { recursive: true });
  await Deno.mkdir(requestsDir, { recursive: true });

  const mock = startMockResponses({ steps: options.steps, saveDir: requestsDir });
  const started = performance.now();
  try {
    await Deno.writeTextFile(
      join(codexHome, "config.toml"),
      clientConfigToml(mock.baseUrl, options.sandboxMode),
    );
    if (selection === "toml") {
      await Deno.writeTextFile(
        join(codexHome, "environments.toml"),
        environmentsToml(options.server, options.serverTimeoutSec),
      );
    }

    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      ...options.env,
      CODEX_HOME: codexHome,
      NO_COLOR: "1",
    };
    // Nothing from the developer's own setup may leak into the turn.
    delete env.CODEX_EXEC_SERVER_URL;
    delete env.OPENAI_API_KEY;
    delete env.OPENAI_BASE_URL;
    if (selection === "env" && options.server.kind === "websocket") {
      env.CODEX_EXEC_SERVER_URL = options.server.url;
    }

    const prompt = options.prompt ?? "Run the scripted tool calls.";
    const child = new Deno.Command(options.codex, {
      args: ["exec", "--skip-git-repo-check", "--json", ...(options.extraArgs ?? []), prompt],
      cwd: options.workDir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // own process group, so a timeout kills Codex and its children together
    }).spawn();
    const stdoutText = new StreamText(child.stdout);
    const stderrText = new StreamText(child.stderr);

    const timeoutMs = options.timeoutMs ?? 90_000;
    let status = await statusWithin(child, timeoutMs);
    const timedOut = status === undefined;
    if (timedOut) status = await stopGroup(child);
    // A stdio server may outlive Codex briefly and share our pipes; don't wait on it forever.
    const stdout = await stdoutText.finish(3000);
    const stderr = await stderrText.finish(3000);
    const durationMs = Math.round(performance.now() - started);

    const events = parseJsonLines(stdout);
    const modelRequests = mock.rawRequests.map((raw) => {
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    });
    if (keep) {
      await Deno.writeTextFile(join(artifactsDir, "codex-stdout.jsonl"), stdout);
      await Deno.writeTextFile(join(artifactsDir, "codex-stderr.txt"), stderr);
    }
    return {
      exitCode: status!.signal ? null : status!.code,
      signal: status!.signal,
      timedOut,
      durationMs,
      events,
      stdout,
      stderr,
      turnCompleted: events.some((e) => e.type === "turn.completed"),
      finalMessage: lastAgentMessage(events),
      sentinel: DEFAULT_SENTINEL,
      modelRequests,
      toolOutputs: mock.toolOutputs(),
      mockErrors: [...mock.errors],
      artifactsDir: keep ? artifactsDir : undefined,
    };
  } finally {
    await mock.close();
    if (!keep) await Deno.remove(artifactsDir, { recursive: true }).catch(() => {});
  }
}

function parseJsonLines(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      events.push(JSON.parse(trimmed));
    } catch {
      // Not an event line.
    }
  }
  return events;
}

function lastAgentMessage(events: Record<string, unknown>[]): string | undefined {
  let text: string | undefined;
  for (const e of events) {
    const item = e.item as Record<string, unknown> | undefined;
    if (e.type === "item.completed" && item?.type === "agent_message" && typeof item.text === "string") {
      text = item.text;
    }
  }
  return text;
}

/** A one-paragraph summary of a turn, for assertion messages and debugging. */
export function describeTurn(result: CodexTurnResult): string {
  const outputs = result.toolOutputs
    .map((o) => `  [${o.step}] ${o.name}: ${o.text.slice(0, 600).replaceAll("\n", "\\n")}`)
    .join("\n");
  return [
    `exit=${result.exitCode} signal=${result.signal} timedOut=${result.timedOut} ${result.durationMs}ms`,
    `turnCompleted=${result.turnCompleted} final=${JSON.stringify(result.finalMessage)}`,
    `modelRequests=${result.modelRequests.length} mockErrors=${JSON.stringify(result.mockErrors)}`,
    `toolOutputs:\n${outputs || "  (none)"}`,
    `stderr (tail):\n${result.stderr.slice(-2000)}`,
    result.artifactsDir ? `artifacts: ${result.artifactsDir}` : "",
  ].join("\n");
}
