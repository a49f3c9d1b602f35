/**
 * Smoke tests for a built artifact (bundle or compiled binary): `--version`, a stdio `initialize` round trip,
 * (on Linux) a `tty:true` process through the FFI pty code, and the web console's assets (its scripts and
 * the xterm.js it bundles) served over a WebSocket listener on 127.0.0.1. Also recognises a "binary" that is
 * really the plain deno CLI (the `DENORT_BIN=$(which deno)` trap).
 *
 * @module
 */
import { runText, StdioClient } from "./stdio_client.ts";

/** Why a smoke test failed: the artifact is the deno CLI itself, or it is broken in some other way. */
export class SmokeError extends Error {
  constructor(readonly isDenoCli: boolean, message: string) {
    super(message);
  }
}

export interface SmokeOptions {
  /** The version `--version` must print (`exec-server <version>`). */
  version: string;
  /** Also start a `tty:true` process (Linux only: the pty code is Linux-only). */
  pty: boolean;
  cwd?: string;
  env?: Record<string, string>;
  /** Progress output, one line per passed step. */
  log?: (line: string) => void;
}

const DENO_CLI_VERSION = /^deno \d+\.\d+\.\d+/;
const DENO_CLI_REJECTS = /unexpected argument '--listen'/;

/** Runs all smoke steps against `command` (e.g. `["dist/exec-server.js"]`); throws {@link SmokeError}. */
export async function smokeTest(command: string[], options: SmokeOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const version = await runText([...command, "--version"], { cwd: options.cwd, env: options.env });
  const printed = version.stdout.trim();
  if (DENO_CLI_VERSION.test(printed)) {
    throw new SmokeError(true, `\`--version\` printed the deno CLI's version: ${printed.split("\n")[0]}`);
  }
  if (version.code !== 0 || printed !== `exec-server ${options.version}`) {
    throw new SmokeError(
      false,
      `\`--version\` exited ${version.code} and printed ${JSON.stringify(printed)} ` +
        `(expected "exec-server ${options.version}"); stderr: ${version.stderr.trim()}`,
    );
  }
  log(`--version: ${printed}`);

  const client = new StdioClient({ command, cwd: options.cwd, env: options.env });
  try {
    let reply;
    try {
      reply = await client.request("initialize", { clientName: "build" });
    } catch (error) {
      if (DENO_CLI_REJECTS.test(client.stderr)) {
        throw new SmokeError(true, `\`--listen stdio\` was rejected: ${client.stderr.trim().split("\n")[0]}`);
      }
      throw new SmokeError(false, `stdio initialize failed: ${(error as Error).message}`);
    }
    const sessionId = reply.result?.sessionId;
    if (typeof sessionId !== "string" || sessionId === "") {
      throw new SmokeError(false, `stdio initialize: no sessionId in ${JSON.stringify(reply)}`);
    }
    log(`stdio initialize: sessionId ${sessionId}`);

    if (options.pty) {
      await client.send({ method: "initialized", params: {} });
      const started = await client.request("process/start", {
        processId: "smoke-tty",
        argv: ["tty"],
        tty: true,
        cwd: "/tmp",
        env: { PATH: "/usr/bin:/bin" },
      });
      if (started.error) {
        throw new SmokeError(false, `tty process/start failed: ${JSON.stringify(started.error)}`);
      }
      try {
        const output = await client.waitForOutput("smoke-tty", /\/dev\/pts\//);
        log(`tty process: ${output.trim()}`);
      } catch (error) {
        throw new SmokeError(false, `tty process: ${(error as Error).message}`);
      }
    }
  } finally {
    await client.close();
  }
  await consoleAssets(command, options, log);
}

/** The console's script and xterm.js, served by `command --listen ws://127.0.0.1:0` from inside itself. */
async function consoleAssets(command: string[], options: SmokeOptions, log: (line: string) => void) {
  const child = new Deno.Command(command[0], {
    args: [...command.slice(1), "--listen", "ws://127.0.0.1:0"],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const deadline = AbortSignal.timeout(30_000);
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while (!printed.includes("\n") && !deadline.aborted) {
      const { value, done } = await lines.read();
      if (done) break;
      printed += value;
    }
    lines.releaseLock();
    const url = printed.split("\n")[0].trim();
    if (!url.startsWith("ws://")) {
      throw new SmokeError(false, `console: no listener URL on stdout (${printed})`);
    }
    const base = url.replace(/^ws:/, "http:");
    const sizes: string[] = [];
    for (
      const [path, marker] of [
        ["/console/app.js", "/console/events"],
        ["/console/terminal.js", "ConsoleTerminal"],
        ["/console/xterm.js", "Terminal"],
      ]
    ) {
      const response = await fetch(base + path, { signal: deadline });
      const body = await response.text();
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !type.startsWith("text/javascript") || !body.includes(marker)) {
        throw new SmokeError(
          false,
          `console: GET ${path} answered ${response.status} ${type}, ${body.length} chars`,
        );
      }
      sizes.push(`${path.slice("/console/".length)} ${body.length} chars`);
    }
    log(`console assets: ${sizes.join(", ")}`);
  } catch (error) {
    if (error instanceof SmokeError) throw error;
    throw new SmokeError(false, `console assets: ${(error as Error).message}`);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await stderr;
  }
}
