/**
 * Smoke tests for a built artifact (bundle or compiled binary): `--version`, a stdio `initialize` round trip,
 * and (on Linux) a `tty:true` process through the FFI pty code. Also recognises a "binary" that is really the
 * plain deno CLI (the `DENORT_BIN=$(which deno)` trap).
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
}
