/**
 * Running one request (an `fs/*` one, today) in the sandbox helper under bubblewrap, from the server's
 * side.
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { selfCommand } from "../util/self_command.ts";
import { bwrapArgv, findBwrap } from "./bwrap.ts";
import { SANDBOX_HELPER_ARG, type SandboxHelperResponse } from "./helper.ts";
import type { EnforcedPlan } from "./policy.ts";
import { helperRuntimePaths } from "./runtime_paths.ts";
import { trackSandboxedProcess, untrackSandboxedProcess } from "./sandboxed_processes.ts";

/** How to start the helper. */
export interface HelperLaunch {
  /** Bubblewrap binary (path or name on `PATH`). */
  bwrap?: string;
  /** Argv prefix that re-runs this program. */
  helperCommand?: () => string[];
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

/** Rust's `ExitStatus` display: `exit status: 1` or `signal: 9 (SIGKILL)`. */
function describeStatus(status: Deno.CommandStatus): string {
  if (status.signal) return `signal: ${SIGNALS[status.signal] ?? 0} (${status.signal})`;
  return `exit status: ${status.code}`;
}

function helperFailed(status: string, detail: string): RpcError {
  return new RpcError(
    ErrorCode.InternalError,
    `fs sandbox helper failed with status ${status}: ${detail.trim()}`,
  );
}

/**
 * Runs `method` with `params` (paths already native and canonical) in a bubblewrap sandbox built from
 * `plan`. Refuses with -32603 when bubblewrap is missing: a restricted request never runs unsandboxed.
 */
export async function runInSandbox(
  method: string,
  params: unknown,
  plan: EnforcedPlan,
  launch: HelperLaunch = {},
): Promise<unknown> {
  const bwrap = findBwrap(launch.bwrap);
  if (bwrap === null) {
    throw helperFailed(
      "exit status: 1",
      `bubblewrap is unavailable: no system bwrap was found on PATH (looked for \`${
        launch.bwrap ?? "bwrap"
      }\`); ` +
        "refusing to run a restricted sandbox request unsandboxed",
    );
  }
  const self = (launch.helperCommand ?? selfCommand)();
  const argv = [
    ...bwrapArgv(plan, { bwrap, cwd: "/", extraReadOnly: helperRuntimePaths(self), newSession: true }),
    ...self,
    SANDBOX_HELPER_ARG,
  ];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  trackSandboxedProcess(child.pid);
  // Feed stdin while collecting output: a large request and a large response must not deadlock.
  const feed = (async () => {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(JSON.stringify({ method, params })));
      await writer.close();
    } catch {
      // The helper exited early; its status and stderr tell why.
    }
  })();
  const [output] = await Promise.all([child.output(), feed]).finally(() =>
    untrackSandboxedProcess(child.pid)
  );
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw helperFailed(describeStatus(output), stderr);
  let response: SandboxHelperResponse;
  try {
    response = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    throw helperFailed(describeStatus(output), `invalid helper response${stderr ? `: ${stderr}` : ""}`);
  }
  if ("error" in response) throw new RpcError(response.error.code, response.error.message);
  return response.result;
}
