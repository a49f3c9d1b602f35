/**
 * `exec-server envs`: list the configured environments and check each one (connect + handshake latency,
 * the shell from `environment/info`, or the error).
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import type { Environment } from "../client/environment.ts";
import type { EnvironmentManager } from "../client/environment_manager.ts";
import { loadCliEnvironments } from "./cli_environments.ts";
import { EXIT_FAILURE, reportError } from "./cli_target.ts";
import { UsageError } from "./usage_error.ts";

/** `exec-server envs --help`. */
export const ENVS_USAGE = `usage: exec-server envs [--config PATH] [--no-check] [--json]

Lists the environments (from $CODEX_HOME/environments.toml, the CODEX_EXEC_SERVER_NOISE_* registry
variables, or CODEX_EXEC_SERVER_URL) and checks that each one answers: connect and handshake time, and its
shell from environment/info. The default environment is marked with *.

  --config PATH   environments file to read instead of $CODEX_HOME/environments.toml
  --no-check      list only; do not connect
  --json          print a JSON array instead: one object per environment with id, default, kind,
                  url (websocket) or program and args (stdio), reachable, latencyMs, shell, error
  -h, --help      show this help

exit status:
  0   every environment answered (or --no-check)
  1   at least one environment failed its check, or the configuration is invalid
  2   usage error`;

/** The outcome of checking one environment. */
export interface EnvironmentCheck {
  id: string;
  isDefault: boolean;
  kind: string;
  target: string;
  /** Connect + handshake + environment/info, in ms. */
  latencyMs?: number;
  shell?: string;
  error?: string;
}

/** Connects to `environment` and asks for its shell. */
export async function checkEnvironment(
  environment: Environment,
  isDefault: boolean,
): Promise<EnvironmentCheck> {
  const base = {
    id: environment.id,
    isDefault,
    kind: environment.config?.kind ?? "local",
    target: environment.target,
  };
  const started = performance.now();
  try {
    const client = await environment.client();
    const info = await client.environmentInfo();
    return { ...base, latencyMs: performance.now() - started, shell: info.shell.path };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  }
}

/** Formats checks as aligned lines. */
export function formatChecks(checks: EnvironmentCheck[], checked: boolean): string {
  const rows = checks.map((c) => [
    `${c.isDefault ? "*" : " "} ${c.id}`,
    c.kind,
    c.target,
    !checked
      ? ""
      : c.error !== undefined
      ? `error: ${c.error}`
      : `ok ${Math.round(c.latencyMs!)}ms shell=${c.shell}`,
  ]);
  const header = ["  ID", "KIND", "TARGET", checked ? "STATUS" : ""];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  return all.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ").trimEnd()
  )
    .join("\n");
}

/** One environment as `envs --json` prints it (`reachable` etc. are null with `--no-check`). */
export function checkJson(check: EnvironmentCheck, environment: Environment, checked: boolean) {
  const config = environment.config;
  const where = config === null
    ? {}
    : config.kind === "websocket"
    ? { url: config.url }
    : config.kind === "registry"
    ? { registryUrl: config.registryUrl, environmentId: config.environmentId }
    : { program: config.program, args: config.args };
  return {
    id: check.id,
    default: check.isDefault,
    kind: check.kind,
    ...where,
    reachable: checked ? check.error === undefined : null,
    latencyMs: check.latencyMs === undefined ? null : Math.round(check.latencyMs * 10) / 10,
    shell: check.shell ?? null,
    error: check.error ?? null,
  };
}

/** Runs the `envs` command; returns the exit status. */
export async function runEnvsCommand(args: string[]): Promise<number> {
  let manager: EnvironmentManager | null = null;
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          config: { type: "string" },
          "no-check": { type: "boolean" },
          json: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message, ENVS_USAGE);
    }
    if (values.help) {
      console.log(ENVS_USAGE);
      return 0;
    }
    manager = await loadCliEnvironments(values.config);
    const defaultId = manager.defaultEnvironmentId;
    const check = !values["no-check"];
    const environments = manager.environments();
    const checks = check
      ? await Promise.all(environments.map((e) => checkEnvironment(e, e.id === defaultId)))
      : environments.map((e) => ({
        id: e.id,
        isDefault: e.id === defaultId,
        kind: e.config?.kind ?? "local",
        target: e.target,
      }));
    if (values.json) {
      const byId = new Map(environments.map((e) => [e.id, e]));
      console.log(JSON.stringify(checks.map((c) => checkJson(c, byId.get(c.id)!, check)), null, 2));
    } else if (checks.length === 0) console.log("no environments configured");
    else console.log(formatChecks(checks, check));
    return checks.some((c) => "error" in c && c.error !== undefined) ? EXIT_FAILURE : 0;
  } catch (error) {
    return reportError("envs", error);
  } finally {
    await manager?.close();
  }
}
