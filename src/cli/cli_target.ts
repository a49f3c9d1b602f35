/**
 * Shared by the human commands (`run`, `envs`, `cp`): choosing an environment from `--env`/`--config`/
 * `--url`, the exit codes, and one-line error reporting.
 *
 * @module
 */
import { ExecServerClientError } from "../client/client_error.ts";
import type { Environment } from "../client/environment.ts";
import type { EnvironmentManager } from "../client/environment_manager.ts";
import { loadCliEnvironments } from "./cli_environments.ts";
import { ExecServerClient } from "../client/exec_server_client.ts";
import { ConfigError } from "../config/config_error.ts";
import { UsageError } from "./usage_error.ts";

/** Exit status for a command-line mistake. */
export const EXIT_USAGE = 2;
/** Exit status when the exec-server could not be reached or went away (as ssh uses 255). */
export const EXIT_CONNECTION = 255;
/** Exit status for other failures (bad config, a rejected request). */
export const EXIT_FAILURE = 1;

/** How a command picks where to run. */
export interface TargetOptions {
  /** `--env ID` (default: the configured default, else `local`). */
  envId?: string;
  /** `--config PATH` (default: `$CODEX_HOME/environments.toml`, else `CODEX_EXEC_SERVER_URL`). */
  configPath?: string;
  /** `--url ws://...`: bypasses the configuration. */
  url?: string;
  /** With `--url`: bearer token from this file's first line (`--token-file`). */
  tokenFile?: string;
  /** With `--url`: bearer token from this environment variable (`--token-env`). */
  tokenEnv?: string;
  /** With `--url wss://...`: PEM CA bundle to trust (`--ca-file`). */
  caFile?: string;
}

/** A connected target and how to release it. */
export interface Target {
  client: ExecServerClient;
  /** Environment id, or the URL for `--url`. */
  label: string;
  close(): Promise<void>;
}

/** Connects to the environment chosen by `options`. */
export async function openTarget(options: TargetOptions, usage: string): Promise<Target> {
  if (options.url !== undefined) {
    if (options.envId !== undefined) throw new UsageError("--url and --env are mutually exclusive", usage);
    const client = await ExecServerClient.connect({
      kind: "websocket",
      url: options.url,
      headers: await bearerHeader(options, usage),
      caCertificates: options.caFile === undefined ? undefined : [await Deno.readTextFile(options.caFile)],
    });
    return { client, label: options.url, close: () => client.close() };
  }
  const manager = await loadCliEnvironments(options.configPath);
  try {
    const environment = selectEnvironment(manager, options.envId, usage);
    const client = await environment.client();
    return { client, label: environment.id, close: () => manager.close() };
  } catch (error) {
    await manager.close();
    throw error;
  }
}

/** `Authorization` for `--url` from `--token-file` or `--token-env` (never from the command line itself). */
async function bearerHeader(options: TargetOptions, usage: string): Promise<Record<string, string>> {
  if (options.tokenFile !== undefined && options.tokenEnv !== undefined) {
    throw new UsageError("--token-file and --token-env are mutually exclusive", usage);
  }
  let token: string | undefined;
  if (options.tokenFile !== undefined) {
    token = (await Deno.readTextFile(options.tokenFile)).split(/\r?\n/)[0].trim();
  }
  if (options.tokenEnv !== undefined) {
    token = Deno.env.get(options.tokenEnv)?.trim();
    if (!token) throw new UsageError(`--token-env: variable \`${options.tokenEnv}\` is not set`, usage);
  }
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The environment named by `id`, or the default (else `local`). */
export function selectEnvironment(
  manager: EnvironmentManager,
  id: string | undefined,
  usage: string,
): Environment {
  if (id !== undefined) {
    const environment = manager.getEnvironment(id);
    if (!environment) {
      throw new UsageError(
        `unknown environment \`${id}\` (configured: ${manager.environmentIds().join(", ") || "none"})`,
        usage,
      );
    }
    return environment;
  }
  const environment = manager.defaultOrLocalEnvironment();
  if (!environment) throw new UsageError("no default environment is configured; pass --env ID", usage);
  const others = manager.environmentIds().filter((other) => other !== environment.id);
  if (environment.id === "local" && others.length > 0) {
    // Codex's rule (no `default` means local) can surprise someone with remote environments configured.
    console.error(
      `exec-server: running on this machine (environment \`local\`); configured: ${others.join(", ")}`,
    );
  }
  return environment;
}

/** Prints `error` as one line (plus usage for usage errors) and returns the exit status for it. */
export function reportError(command: string, error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`exec-server ${command}: ${error.message}\n\n${error.usage}`);
    return EXIT_USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`exec-server ${command}: ${message}`);
  if (error instanceof ExecServerClientError && error.isConnectionFailure) return EXIT_CONNECTION;
  if (error instanceof ConfigError) return EXIT_FAILURE;
  return EXIT_FAILURE;
}

/** Writes all of `bytes` to a Deno writer. */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await writer.write(bytes.subarray(written));
}
