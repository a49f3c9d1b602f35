/**
 * Where the environments come from: `--config PATH`, else `$CODEX_HOME/environments.toml`, else the legacy
 * `CODEX_EXEC_SERVER_URL` variable (Codex 0.140.0 precedence; the file, when present, is the only source).
 *
 * @module
 */
import { dirname, join, resolve } from "../util/path.ts";
import { currentUserPasswdField, PASSWD_HOME } from "../util/passwd.ts";
import { ConfigError } from "./config_error.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_INITIALIZE_TIMEOUT_MS,
  type EnvironmentsConfig,
  LOCAL_ENVIRONMENT_ID,
  parseEnvironmentsToml,
  rustTrim,
} from "./environments_toml.ts";

/** File name looked up inside CODEX_HOME. */
export const ENVIRONMENTS_TOML_FILE = "environments.toml";
/** The legacy single-remote variable, consulted only when no environments file exists. */
export const EXEC_SERVER_URL_ENV = "CODEX_EXEC_SERVER_URL";
/** Id Codex gives the environment built from {@link EXEC_SERVER_URL_ENV}. */
export const LEGACY_REMOTE_ENVIRONMENT_ID = "remote";

/** Options of {@link loadEnvironments}. */
export interface LoadEnvironmentsOptions {
  /** Explicit file (`--config PATH`): wins over everything, and must exist. */
  configPath?: string;
  /** Overrides `$CODEX_HOME` (itself defaulting to `~/.codex`). */
  codexHome?: string;
  /** Environment variables to consult instead of the process's (`CODEX_HOME`, `HOME`, `CODEX_EXEC_SERVER_URL`). */
  env?: Record<string, string | undefined>;
}

/**
 * `$CODEX_HOME`, or `~/.codex` when unset or empty, made absolute. Unlike Codex we do not canonicalize, so a
 * CODEX_HOME that does not exist simply has no environments file.
 */
export function resolveCodexHome(env: Record<string, string | undefined> = Deno.env.toObject()): string {
  const fromEnv = env.CODEX_HOME;
  if (fromEnv) return resolve(fromEnv);
  return join(env.HOME || homeDirectory(), ".codex");
}

/**
 * The current user's home directory as `node:os`'s `homedir()` finds it (`$HOME`, then the passwd entry of
 * this uid), without loading the Node compatibility layer at startup.
 */
function homeDirectory(): string {
  const home = Deno.env.get("HOME") || currentUserPasswdField(PASSWD_HOME);
  if (home) return home;
  throw new Error("cannot determine the home directory: HOME is not set and this user has no passwd entry");
}

/**
 * Loads the environments configuration with Codex's precedence and reports which source was used.
 *
 * @throws {ConfigError} when the file cannot be inspected (`kind: "inspect"`), read (`"read"`) or parsed
 * and validated (see {@link parseEnvironmentsToml}). A missing default file is not an error.
 */
export async function loadEnvironments(options: LoadEnvironmentsOptions = {}): Promise<EnvironmentsConfig> {
  const env = options.env ?? Deno.env.toObject();

  if (options.configPath !== undefined) {
    // An explicitly named file must exist: reading it reports the I/O error.
    return await loadEnvironmentsFile(resolve(options.configPath));
  }

  const codexHome = options.codexHome !== undefined ? resolve(options.codexHome) : resolveCodexHome(env);
  const path = join(codexHome, ENVIRONMENTS_TOML_FILE);
  if (await fileExists(path)) return await loadEnvironmentsFile(path, codexHome);
  return environmentsFromNoiseRegistry(env) ?? environmentsFromExecServerUrl(env[EXEC_SERVER_URL_ENV]);
}

/**
 * Reads and parses one environments file. Relative paths inside it resolve against `configDir`, which
 * defaults to the file's directory (CODEX_HOME for the default location).
 *
 * @throws {ConfigError} `kind: "read"` with ``failed to read environment config `<path>`: <io error>``, or
 * any error of {@link parseEnvironmentsToml}.
 */
export async function loadEnvironmentsFile(
  path: string,
  configDir = dirname(path),
): Promise<EnvironmentsConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const reason = errorText(err);
    throw new ConfigError(`failed to read environment config \`${path}\`: ${reason}`, {
      kind: "read",
      path,
      reason,
    }, {
      cause: err,
    });
  }
  return parseEnvironmentsToml(text, { path, configDir });
}

/** The registry variables (all three needed; the account id is optional). */
export const NOISE_REGISTRY_ENV = {
  registryUrl: "CODEX_EXEC_SERVER_NOISE_REGISTRY_URL",
  environmentId: "CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID",
  authToken: "CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN",
  accountId: "CODEX_EXEC_SERVER_NOISE_CHATGPT_ACCOUNT_ID",
} as const;

/**
 * The registry provider (no environments file): with `CODEX_EXEC_SERVER_NOISE_REGISTRY_URL`, `_ENVIRONMENT_ID`
 * and `_AUTH_TOKEN` set, one environment `remote` reached through the registry's relay, the default, and no
 * `local` (as Codex's harness does). It is consulted before `CODEX_EXEC_SERVER_URL`; null when unset.
 */
export function environmentsFromNoiseRegistry(
  env: Record<string, string | undefined>,
): EnvironmentsConfig | null {
  const registryUrl = rustTrim(env[NOISE_REGISTRY_ENV.registryUrl] ?? "");
  const environmentId = rustTrim(env[NOISE_REGISTRY_ENV.environmentId] ?? "");
  const authToken = rustTrim(env[NOISE_REGISTRY_ENV.authToken] ?? "");
  if (registryUrl === "" || environmentId === "" || authToken === "") return null;
  const accountId = rustTrim(env[NOISE_REGISTRY_ENV.accountId] ?? "");
  return {
    defaultId: LEGACY_REMOTE_ENVIRONMENT_ID,
    includeLocal: false,
    environments: [{
      kind: "registry",
      id: LEGACY_REMOTE_ENVIRONMENT_ID,
      registryUrl,
      environmentId,
      authToken,
      ...(accountId === "" ? {} : { accountId }),
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      initializeTimeoutMs: DEFAULT_INITIALIZE_TIMEOUT_MS,
    }],
    source: { kind: "registry", registryUrl, environmentId },
  };
}

/**
 * The legacy provider (used only when no environments file exists): the value is trimmed; unset or blank
 * means `local` only (the default); `none` in any case means nothing at all, not even `local`; anything else
 * is one websocket environment `remote` with default timeouts and no `local`. The URL is deliberately not
 * validated (Codex fails on first use instead).
 */
export function environmentsFromExecServerUrl(value: string | undefined): EnvironmentsConfig {
  const trimmed = rustTrim(value ?? "");
  if (trimmed === "") {
    return {
      defaultId: LOCAL_ENVIRONMENT_ID,
      includeLocal: true,
      environments: [],
      source: { kind: "none" },
    };
  }
  if (trimmed.toLowerCase() === "none") {
    return {
      defaultId: null,
      includeLocal: false,
      environments: [],
      source: { kind: "env", value: trimmed },
    };
  }
  return {
    defaultId: LEGACY_REMOTE_ENVIRONMENT_ID,
    includeLocal: false,
    environments: [{
      kind: "websocket",
      id: LEGACY_REMOTE_ENVIRONMENT_ID,
      url: trimmed,
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      initializeTimeoutMs: DEFAULT_INITIALIZE_TIMEOUT_MS,
    }],
    source: { kind: "env", value: trimmed },
  };
}

/** Codex's existence test: absent (including a dangling symlink) is `false`; any other failure is an error. */
async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    const reason = errorText(err);
    throw new ConfigError(`failed to inspect environment config \`${path}\`: ${reason}`, {
      kind: "inspect",
      path,
      reason,
    }, { cause: err });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
