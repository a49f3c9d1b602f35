/**
 * Command dispatch for the one binary: `serve` (default), plus the hidden sandbox helper entry.
 *
 * @module
 */
import { runFsRequest } from "../fs/run_request.ts";
import { runSandboxHelper, SANDBOX_HELPER_ARG } from "../sandbox/helper.ts";
import { DISCOVERY_HELPER_METHOD } from "../server/discovery_job.ts";
import { VERSION } from "../version.ts";
import { runCompletionCommand } from "./completion_command.ts";
import { runCpCommand } from "./cp_command.ts";
import { runKillCommand, runLogsCommand, runPsCommand } from "./admin_commands.ts";
import { runEnvsCommand } from "./envs_command.ts";
import { runRunCommand } from "./run_command.ts";
import { parseServeArgs, runServe, SERVE_USAGE } from "./serve_command.ts";
import { logSettings } from "./log_settings.ts";
import { setLogFormat, setLogLevel } from "../util/log.ts";
import { UsageError } from "./usage_error.ts";

const TOP_USAGE = `usage: exec-server <command> [options]

commands:
  serve                serve the JSON-RPC API (default; see exec-server serve --help)
  run                  run a command in an environment (exec-server run --help)
  envs                 list and check the configured environments (exec-server envs --help)
  cp                   copy files and trees to or from an environment, as scp (exec-server cp --help)
  version              print the version (as --version)
  completion bash|zsh  print a shell completion script (exec-server completion --help)
  ps                   list the sessions and processes on a server (exec-server ps --help)
  logs [-f] ID         print (and follow) a process's output (exec-server logs --help)
  kill ID|--session S  terminate a process or a whole session (exec-server kill --help)
  forward              register an existing WebSocket exec-server with an environment registry (exec-server forward --help)

  -h, --help      show this help
  -V, --version   print the version`;

/** Runs the CLI and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    const [first, ...rest] = args;
    if (first === SANDBOX_HELPER_ARG) {
      return await runSandboxHelper((method, params) =>
        method === DISCOVERY_HELPER_METHOD
          ? import("../server/discovery_jobs.ts").then((jobs) => jobs.runDiscoveryHelperRequest(params))
          : runFsRequest(method, params)
      );
    }
    if (first === "run" || first === "envs" || first === "cp") {
      // The in-process `local` environment logs as a server would (EXEC_SERVER_LOG, EXEC_SERVER_LOG_FORMAT).
      const { level, format } = logSettings(undefined, undefined, TOP_USAGE);
      setLogLevel(level);
      setLogFormat(format);
    }
    if (first === "run") return await runRunCommand(rest);
    if (first === "envs") return await runEnvsCommand(rest);
    if (first === "cp") return await runCpCommand(rest);
    if (first === "completion") return runCompletionCommand(rest);
    if (first === "ps") return await runPsCommand(rest);
    if (first === "logs") return await runLogsCommand(rest);
    if (first === "kill") return await runKillCommand(rest);
    if (first === "forward") return await (await import("./forward_command.ts")).runForwardCommand(rest);
    if (first === "--version" || first === "-V" || first === "version") {
      console.log(`exec-server ${VERSION}`);
      return 0;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      console.log(rest.length === 0 ? `${TOP_USAGE}\n\n${SERVE_USAGE}` : SERVE_USAGE);
      return 0;
    }
    const serveArgs = first === "serve" ? rest : args;
    if (serveArgs.includes("--help") || serveArgs.includes("-h")) {
      console.log(SERVE_USAGE);
      return 0;
    }
    if (serveArgs.includes("--version") || serveArgs.includes("-V")) {
      console.log(`exec-server ${VERSION}`);
      return 0;
    }
    if (first !== undefined && first !== "serve" && !first.startsWith("-")) {
      throw new UsageError(`unknown command \`${first}\``, TOP_USAGE);
    }
    return await runServe(parseServeArgs(serveArgs));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`exec-server: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    console.error(`exec-server: ${(error as Error)?.message ?? error}`);
    return 1;
  }
}
