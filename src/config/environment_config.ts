/**
 * What `environments.toml` (or `CODEX_EXEC_SERVER_URL`) resolves to: concrete environment configs, and the
 * defaults and limits Codex applies while resolving them.
 *
 * @module
 */

import { MAX_TIMER_MS } from "../util/timers.ts";
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_INITIALIZE_TIMEOUT_MS } from "./timeouts.ts";

/**
 * Upper bound for resolved timeouts. Codex accepts up to ~1.8e19 s; a longer JS delay would fire at once,
 * so we clamp to what `setTimeout` honours.
 */
export const MAX_TIMEOUT_MS = MAX_TIMER_MS;
/** Id of the built-in local environment (reserved as an entry id, exact case). */
export const LOCAL_ENVIRONMENT_ID = "local";
/** Longest accepted environment id, in UTF-8 bytes like Codex's `str::len`. */
export const MAX_ENVIRONMENT_ID_LENGTH = 64;

/** Where a websocket environment's bearer token comes from (extension; read at connect time, not here). */
export type AuthTokenSource = { file: string } | { env: string } | { value: string };

/** An `[[environments]]` entry with `url`: an exec-server reached over WebSocket. */
export interface WebSocketEnvironmentConfig {
  kind: "websocket";
  id: string;
  /** Trimmed `ws://` or `wss://` URL. */
  url: string;
  /** Resolved `connect_timeout_sec` (default 10 000; 0 is legal and means "immediately"). */
  connectTimeoutMs: number;
  /** Resolved `initialize_timeout_sec` (default 10 000). */
  initializeTimeoutMs: number;
  /** Extension: bearer token source; a relative file is already resolved against the config directory. */
  authToken?: AuthTokenSource;
  /** Extension: PEM CA bundle for `wss://`, resolved against the config directory. */
  tlsCaFile?: string;
}

/** An `[[environments]]` entry with `program`: an exec-server spawned as a child speaking stdio. */
export interface StdioEnvironmentConfig {
  kind: "stdio";
  id: string;
  /** Trimmed program, executed directly (no shell) with a PATH lookup. */
  program: string;
  args: string[];
  /** Added to the inherited environment, not a replacement. */
  env: Record<string, string>;
  /** Absolute working directory (a relative `cwd` is resolved against the config directory); absent = inherit. */
  cwd?: string;
  /** Resolved `initialize_timeout_sec` (default 10 000). */
  initializeTimeoutMs: number;
}

/**
 * An executor registered with an environment registry, reached through its relay (Codex's
 * `CODEX_EXEC_SERVER_NOISE_*` variables): `/connect` with the bearer, then a Noise stream.
 */
export interface RegistryEnvironmentConfig {
  kind: "registry";
  id: string;
  /** The registry's base URL (`CODEX_EXEC_SERVER_NOISE_REGISTRY_URL`). */
  registryUrl: string;
  /** The registered environment (`CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID`). */
  environmentId: string;
  /** The harness bearer (`CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN`). */
  authToken: string;
  /** `CODEX_EXEC_SERVER_NOISE_CHATGPT_ACCOUNT_ID`, sent as `chatgpt-account-id`. */
  accountId?: string;
  /** `/connect` plus the Noise handshake (default 10 000). */
  connectTimeoutMs: number;
  initializeTimeoutMs: number;
}

/** One configured remote environment. */
export type EnvironmentConfig =
  | WebSocketEnvironmentConfig
  | StdioEnvironmentConfig
  | RegistryEnvironmentConfig;

/** Which source produced an {@link EnvironmentsConfig}. */
export type EnvironmentsSource =
  | { kind: "file"; path: string }
  /** The legacy `CODEX_EXEC_SERVER_URL` provider; `value` is the trimmed variable. */
  | { kind: "env"; value: string }
  /** The `CODEX_EXEC_SERVER_NOISE_*` registry variables. */
  | { kind: "registry"; registryUrl: string; environmentId: string }
  /** Neither a file nor the variable: only `local`. */
  | { kind: "none" };

/** The resolved set of environments, whatever the source. */
export interface EnvironmentsConfig {
  /** The default environment id (`"local"` included), or `null` when the default is disabled. */
  defaultId: string | null;
  /** Whether the built-in `local` environment exists. */
  includeLocal: boolean;
  /** Remote environments in file order (`local` is never listed here). */
  environments: EnvironmentConfig[];
  source: EnvironmentsSource;
}
