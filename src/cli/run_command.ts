/**
 * `exec-server run`: run one command in an environment, streaming its output live, forwarding stdin
 * (raw mode and window size for `--tty`) and exiting with the remote exit code, like `ssh host cmd`.
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import { ExecServerClientError } from "../client/client_error.ts";
import type { ProcessHandle } from "../client/process_handle.ts";
import { INHERIT_ALL_ENV_POLICY } from "../client/exec_server_client.ts";
import { EXIT_CONNECTION, openTarget, reportError, type Target, writeAll } from "./cli_target.ts";
import { UsageError } from "./usage_error.ts";

/** `exec-server run --help`. */
export const RUN_USAGE = `usage: exec-server run [options] [--] COMMAND [ARGS...]

Runs COMMAND in an environment and streams its output. The command is executed directly (no shell);
use \`sh -c '...'\` for shell syntax. Options end at COMMAND: what follows it is passed on untouched.

  --env ID        environment to use (default: the configured default, else local)
  --config PATH   environments file (default: $CODEX_HOME/environments.toml)
  --url URL       connect to ws://HOST:PORT (or wss://) directly instead of a configured environment
  --token-file F  with --url: send "Authorization: Bearer <first line of F>"
  --token-env V   with --url: send the bearer token held in environment variable V
  --ca-file F     with --url wss://: trust this PEM CA bundle
  --cwd DIR       working directory on the remote side (default: the server's directory)
  -e NAME=VALUE   set a variable in the command's environment (repeatable; -e NAME passes the local value)
  --tty, -t       allocate a terminal (raw local terminal, window size follows SIGWINCH)
  -h, --help      show this help

Ctrl-C interrupts the remote command; a second Ctrl-C terminates it; a third leaves it and exits.
A closed output pipe (\`run ... | head\`) terminates it.

exit status:
  N      the remote command's exit status (128+N when it was killed by signal N)
  127    the command could not be started
  130    left running after a third Ctrl-C
  141    the local output pipe was closed
  1      configuration error or other failure
  2      usage error
  255    the exec-server could not be reached, or the connection was lost`;

/** Parsed `run` arguments. */
export interface RunConfig {
  argv: string[];
  envId?: string;
  configPath?: string;
  url?: string;
  tokenFile?: string;
  tokenEnv?: string;
  caFile?: string;
  cwd?: string;
  /** `-e` assignments, in order. */
  env: Record<string, string>;
  tty: boolean;
}

/** Parses `run` arguments (after the word `run`). */
export function parseRunArgs(args: string[]): RunConfig | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        env: { type: "string" },
        config: { type: "string" },
        url: { type: "string" },
        "token-file": { type: "string" },
        "token-env": { type: "string" },
        "ca-file": { type: "string" },
        cwd: { type: "string" },
        setenv: { type: "string", short: "e", multiple: true },
        tty: { type: "boolean", short: "t" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      stopAtPositional: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, RUN_USAGE);
  }
  if (parsed.values.help) return "help";
  if (parsed.positionals.length === 0) throw new UsageError("missing command to run", RUN_USAGE);
  return {
    argv: parsed.positionals,
    envId: parsed.values.env,
    configPath: parsed.values.config,
    url: parsed.values.url,
    tokenFile: parsed.values["token-file"],
    tokenEnv: parsed.values["token-env"],
    caFile: parsed.values["ca-file"],
    cwd: parsed.values.cwd,
    env: parseAssignments(parsed.values.setenv ?? []),
    tty: parsed.values.tty ?? false,
  };
}

/** `-e NAME=VALUE` (or `-e NAME`: the local value, as `docker run -e` does) into an environment. */
function parseAssignments(assignments: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf("=");
    const name = equals === -1 ? assignment : assignment.slice(0, equals);
    if (name === "" || name.includes("\0")) {
      throw new UsageError(`-e expects NAME=VALUE, got \`${assignment}\``, RUN_USAGE);
    }
    if (equals !== -1) env[name] = assignment.slice(equals + 1);
    else {
      const local = Deno.env.get(name);
      if (local === undefined) {
        throw new UsageError(`-e ${name}: not set in the local environment`, RUN_USAGE);
      }
      env[name] = local;
    }
  }
  return env;
}

/** Runs the `run` command; returns the exit status. */
export async function runRunCommand(args: string[]): Promise<number> {
  let target: Target | null = null;
  try {
    const config = parseRunArgs(args);
    if (config === "help") {
      console.log(RUN_USAGE);
      return 0;
    }
    target = await openTarget(config, RUN_USAGE);
    return await runRemote(target, config);
  } catch (error) {
    return reportError("run", error);
  } finally {
    await target?.close();
  }
}

async function runRemote(target: Target, config: RunConfig): Promise<number> {
  const terminal = config.tty && Deno.stdin.isTerminal();
  const size = config.tty && Deno.stdout.isTerminal() ? Deno.consoleSize() : null;
  let handle: ProcessHandle;
  try {
    handle = await target.client.startProcess({
      argv: config.argv,
      cwd: config.cwd,
      env: { ...(config.tty ? { TERM: Deno.env.get("TERM") ?? "xterm-256color" } : {}), ...config.env },
      envPolicy: INHERIT_ALL_ENV_POLICY,
      tty: config.tty,
      pipeStdin: true,
      rows: size?.rows,
      cols: size?.columns,
    });
  } catch (error) {
    if (error instanceof ExecServerClientError && error.kind === "server") {
      console.error(`exec-server run: ${await startFailure(target, config, error)}`);
      return 127;
    }
    throw error;
  }
  const cleanups: Array<() => void> = [];
  try {
    if (terminal) {
      Deno.stdin.setRaw(true);
      cleanups.push(() => Deno.stdin.setRaw(false));
    }
    if (size) {
      const onResize = () => {
        const { rows, columns } = Deno.consoleSize();
        handle.resize(rows, columns).catch(() => {});
      };
      Deno.addSignalListener("SIGWINCH", onResize);
      cleanups.push(() => Deno.removeSignalListener("SIGWINCH", onResize));
    }
    let leave: (code: number) => void = () => {};
    const left = new Promise<number>((resolve) => (leave = resolve));
    if (!terminal) {
      // Without a remote terminal, local ^C and kill reach the remote process group as signals. A second
      // ^C terminates the remote (for one that ignores SIGINT); a third leaves it and exits.
      let interrupts = 0;
      const onInterrupt = () => {
        interrupts++;
        if (interrupts === 1) handle.signal("interrupt").catch(() => {});
        else if (interrupts === 2) {
          console.error("exec-server run: terminating the remote command (Ctrl-C again to leave it)");
          handle.terminate().catch(() => {});
        } else leave(130);
      };
      Deno.addSignalListener("SIGINT", onInterrupt);
      cleanups.push(() => Deno.removeSignalListener("SIGINT", onInterrupt));
      for (const [signal, name] of [["SIGTERM", "terminate"], ["SIGHUP", "hangup"]] as const) {
        const forward = () => handle.signal(name).catch(() => {});
        Deno.addSignalListener(signal, forward);
        cleanups.push(() => Deno.removeSignalListener(signal, forward));
      }
    }
    forwardStdin(handle);
    const streamed = (async () => {
      for await (const event of handle) {
        if (event.type === "output") {
          try {
            await writeAll(event.stream === "stderr" ? Deno.stderr : Deno.stdout, event.chunk);
          } catch (error) {
            if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
            // `run ... | head`: nobody reads any more. Stop the remote as a local pipeline would.
            await handle.terminate().catch(() => {});
            return EXIT_BROKEN_PIPE;
          }
        } else if (event.type === "dropped") {
          console.error(
            `exec-server run: ${event.bytes} bytes of output were lost (server retention exceeded)`,
          );
        }
      }
      return null;
    })();
    const early = await Promise.race([streamed, left]);
    if (early !== null) return early;
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
  }
  const outcome = await handle.wait();
  if (outcome.failure !== null) {
    console.error(`exec-server run: ${outcome.failure}`);
    return EXIT_CONNECTION;
  }
  // -1: the server could not collect a status (e.g. terminated); report it like a lost connection.
  return outcome.exitCode === null || outcome.exitCode < 0 ? EXIT_CONNECTION : outcome.exitCode & 0xff;
}

/** 128 + SIGPIPE, what a shell reports for a pipeline writer whose reader went away. */
const EXIT_BROKEN_PIPE = 141;

/**
 * Why a start failed, in words that name the culprit: a missing `--cwd` by its name (the server reports
 * ENOENT for a missing program and a missing cwd alike), a command line that needed a shell with a hint.
 */
async function startFailure(
  target: Target,
  config: RunConfig,
  error: ExecServerClientError,
): Promise<string> {
  const program = config.argv[0];
  const notFound = (error.data as { kind?: string } | undefined)?.kind === "spawnNotFound" ||
    /No such file or directory/.test(error.serverMessage ?? "");
  if (notFound && config.cwd !== undefined) {
    const cwdExists = await target.client.getMetadata(config.cwd).then((m) => m.isDirectory, () => false);
    if (!cwdExists) return `--cwd ${config.cwd}: no such directory on the remote side`;
  }
  const base = `cannot start \`${program}\`: ${error.serverMessage}`;
  if (notFound && config.argv.length === 1 && /[\s|&;<>()$`*?"']/.test(program)) {
    return `${base}\n  hint: the command is run without a shell; for a shell command line use: sh -c '${program}'`;
  }
  return base;
}

/** Copies local stdin to the process until EOF (then closes its stdin) or until it finishes. */
async function forwardStdin(handle: ProcessHandle): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (!handle.finished) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      if (handle.finished) return;
      await handle.write(buffer.slice(0, n));
    }
    if (!handle.finished) await handle.closeStdin();
  } catch {
    // The process or connection ended first; its outcome is reported by the event loop.
  }
}
