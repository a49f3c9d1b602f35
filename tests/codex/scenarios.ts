/**
 * Ready-made scripted turns (recipe §8) and verifiers that check each expected output reached the
 * model. Reusable against any server under test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ScriptedStep, StepContext, ToolOutput } from "./mock_responses.ts";
import { type CodexTurnResult, describeTurn } from "./harness.ts";

/** A 1×1 RGBA PNG, base64. Written by the remote shell, then opened with `view_image`. */
export const TINY_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/** The string the basic command prints; the `42` is computed by the shell so it never appears in argv. */
export function expectedHello(token: string): string {
  return `hello-from-remote-42-${token}`;
}

/** Path of the marker file the basic command writes. */
export function markerPath(runDir: string): string {
  return join(runDir, "marker.txt");
}

/** A fresh random token for one run. */
export function randomToken(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** The basic command (recipe §8): proves the command ran, and where (`SERVER_TAG`, pid, cwd). */
export function basicCommand(token: string, runDir: string): string {
  return `echo "hello-from-remote-$((6*7))-${token}" | tee ${shellQuote(markerPath(runDir))}; ` +
    `echo "server-tag=\${SERVER_TAG:-unset} pid=$$ ppid=$PPID cwd=$(pwd)"; uname -a`;
}

/** One `exec_command` step running the basic command. */
export function basicScenario(token: string, runDir: string): ScriptedStep[] {
  return [execCommand(basicCommand(token, runDir))];
}

/** Names of the files the full scenario creates in the work dir. */
export function fullScenarioFiles(token: string): { patched: string; png: string } {
  return { patched: `e2e-patched-${token}.txt`, png: `e2e-image-${token}.png` };
}

/** The expected contents of the patched file after both patches. */
export function expectedPatchedContents(token: string): string {
  return `alpha-${token}\nbeta-edited-${token}\ngamma\n`;
}

/**
 * The full scenario: the basic command, then a tty command that reads a line and prints
 * `got-<line>`, `write_stdin` with `ping\n` to its session, `apply_patch` adding a file and a second
 * `apply_patch` updating it, a command reading it back, a command writing a PNG, and `view_image` on it.
 *
 * File paths are relative to the turn's work dir (`workDir`), except `view_image`, which gets the
 * absolute path.
 */
export function fullScenario(token: string, runDir: string, workDir: string): ScriptedStep[] {
  const files = fullScenarioFiles(token);
  return [
    ...basicScenario(token, runDir),
    // Blocks on `read`, so after the (short) yield Codex reports "Process running with session ID N".
    // `tty-yes` is computed by the shell, so it proves stdin really is a terminal.
    execCommand(`echo "tty-$([ -t 0 ] && echo yes || echo no)"; read -r line; echo "got-$line"`, {
      tty: true,
      yield_time_ms: 500,
    }),
    {
      kind: "function_call",
      name: "write_stdin",
      arguments: (ctx) => ({ session_id: sessionIdFromStep(ctx, 1), chars: "ping\n", yield_time_ms: 5000 }),
    },
    {
      kind: "custom_tool_call",
      name: "apply_patch",
      input:
        `*** Begin Patch\n*** Add File: ${files.patched}\n+alpha-${token}\n+beta\n+gamma\n*** End Patch\n`,
    },
    {
      kind: "custom_tool_call",
      name: "apply_patch",
      input:
        `*** Begin Patch\n*** Update File: ${files.patched}\n@@\n alpha-${token}\n-beta\n+beta-edited-${token}\n` +
        ` gamma\n*** End Patch\n`,
    },
    execCommand(`cat ${shellQuote(files.patched)}`),
    execCommand(
      `printf '%s' '${TINY_PNG_BASE64}' | base64 -d > ${shellQuote(files.png)} && echo png-written`,
    ),
    { kind: "function_call", name: "view_image", arguments: { path: join(workDir, files.png) } },
  ];
}

/** An `exec_command` step. */
export function execCommand(cmd: string, extra: Record<string, unknown> = {}): ScriptedStep {
  return { kind: "function_call", name: "exec_command", arguments: { cmd, yield_time_ms: 10_000, ...extra } };
}

/** Extracts N from "Process running with session ID N" in a tool output text. */
export function sessionIdFrom(text: string): number | undefined {
  const m = /session ID (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function sessionIdFromStep(ctx: StepContext, step: number): number {
  const out = ctx.outputs[step];
  const id = out ? sessionIdFrom(out.text) : undefined;
  if (id === undefined) {
    throw new Error(`no session id in output of step ${step}: ${out?.text ?? "(missing)"}`);
  }
  return id;
}

/** What the verifiers expect. */
export interface Expectations {
  token: string;
  /** `SERVER_TAG` in the server's environment; checked when given. */
  serverTag?: string;
  /** Marker-file directory; the marker check is skipped when omitted (server on another host). */
  runDir?: string;
  /** Work dir of the turn, for the full scenario's file checks; skipped when omitted. */
  workDir?: string;
  /** Pid of the exec-server; when given, the command must be its direct child (`ppid=<pid>`). */
  serverPid?: number;
}

/** Asserts the turn finished: exit 0, `turn.completed`, and the sentinel as the final message. */
export function assertTurnCompleted(result: CodexTurnResult): void {
  const ctx = () => `\n${describeTurn(result)}`;
  assert.equal(result.timedOut, false, `codex timed out${ctx()}`);
  assert.equal(result.exitCode, 0, `codex exit code${ctx()}`);
  assert.ok(result.turnCompleted, `no turn.completed event${ctx()}`);
  assert.equal(result.finalMessage, result.sentinel, `final agent message${ctx()}`);
  assert.deepEqual(result.mockErrors, [], `mock errors${ctx()}`);
}

/** The tool output of step `step`, asserting that the model received it. */
export function toolOutput(result: CodexTurnResult, step: number, name: string): ToolOutput {
  const out = result.toolOutputs.find((o) => o.step === step);
  assert.ok(out, `model never received the output of step ${step} (${name})\n${describeTurn(result)}`);
  assert.equal(out.name, name);
  return out;
}

/** Asserts the output text of step `step` contains every string in `needles`. */
export function assertOutputContains(
  result: CodexTurnResult,
  step: number,
  name: string,
  needles: string[],
): void {
  const out = toolOutput(result, step, name);
  for (const needle of needles) {
    assert.ok(
      out.text.includes(needle),
      `output of step ${step} (${name}) lacks ${JSON.stringify(needle)}:\n${out.text}\n${
        describeTurn(result)
      }`,
    );
  }
}

/** Verifies the basic scenario (step 0): expected string, exit code 0, server tag, marker file. */
export async function assertBasicScenario(result: CodexTurnResult, expect: Expectations): Promise<void> {
  assertTurnCompleted(result);
  const needles = [expectedHello(expect.token), "Process exited with code 0"];
  if (expect.serverTag !== undefined) needles.push(`server-tag=${expect.serverTag} `);
  if (expect.serverPid !== undefined) needles.push(` ppid=${expect.serverPid} `);
  assertOutputContains(result, 0, "exec_command", needles);
  if (expect.runDir !== undefined) {
    const marker = await Deno.readTextFile(markerPath(expect.runDir));
    assert.equal(marker.trim(), expectedHello(expect.token), "marker file contents");
  }
}

/** Verifies the full scenario: the basic step plus tty/write_stdin, both patches, read-back and view_image. */
export async function assertFullScenario(result: CodexTurnResult, expect: Expectations): Promise<void> {
  await assertBasicScenario(result, expect);
  const { token } = expect;
  const tty = toolOutput(result, 1, "exec_command");
  assert.ok(sessionIdFrom(tty.text) !== undefined, `tty exec_command did not stay running:\n${tty.text}`);
  assertOutputContains(result, 1, "exec_command", ["tty-yes"]);
  assertOutputContains(result, 2, "write_stdin", ["got-ping"]);
  assertOutputContains(result, 3, "apply_patch", [fullScenarioFiles(token).patched]);
  assertOutputContains(result, 4, "apply_patch", [fullScenarioFiles(token).patched]);
  assertOutputContains(result, 5, "exec_command", [
    expectedPatchedContents(token),
    "Process exited with code 0",
  ]);
  assertOutputContains(result, 6, "exec_command", ["png-written"]);
  assertViewImage(result, 7);
  if (expect.workDir !== undefined) {
    const text = await Deno.readTextFile(join(expect.workDir, fullScenarioFiles(token).patched));
    assert.equal(text, expectedPatchedContents(token), "patched file on disk");
  }
}

/**
 * Asserts the model got the PNG back from `view_image` at step `step`, byte for byte (Codex 0.140 and
 * 0.169 pass a 1×1 PNG through unchanged as an `input_image` data URL).
 */
export function assertViewImage(result: CodexTurnResult, step: number): void {
  const out = toolOutput(result, step, "view_image");
  const raw = JSON.stringify(out.raw);
  assert.ok(
    raw.includes(`"input_image"`) && raw.includes(`data:image/png;base64,${TINY_PNG_BASE64}`),
    `view_image output lacks the PNG: ${raw.slice(0, 1000)}\n${describeTurn(result)}`,
  );
}

/** Single-quotes `s` for bash. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
