/**
 * The per-entry rules of `environments.toml`, in Codex's order, and the `default` handling; each resolves
 * to concrete values or fails with Codex's reason text.
 *
 * @module
 */
import { isAbsolute, join } from "../util/path.ts";
import type { ConfigError } from "./config_error.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_INITIALIZE_TIMEOUT_MS,
  type EnvironmentConfig,
  LOCAL_ENVIRONMENT_ID,
  MAX_ENVIRONMENT_ID_LENGTH,
  type WebSocketEnvironmentConfig,
} from "./environment_config.ts";
import { type EnvironmentEntry, EXTENSION_ENTRY_KEYS } from "./environments_schema.ts";

/** Builds the validation error for the current entry; `note` is extra text after Codex's reason. */
export type Fail = (keys: string[], reason: string, note?: string) => ConfigError;

/** Applies the per-entry rules to one shaped entry and resolves its defaults and paths. */
export function resolveEntry(entry: EnvironmentEntry, configDir: string, fail: Fail): EnvironmentConfig {
  const { id } = entry;

  // 1. Id.
  const idProblem = validateEnvironmentId(id);
  if (idProblem) throw fail(["id"], idProblem);

  // 2. Stdio-only keys need `program` (also when combined with `url`).
  if (entry.program === undefined) {
    const stray = (["args", "env", "cwd"] as const).filter((k) => entry[k] !== undefined);
    if (stray.length) throw fail(stray, `environment \`${id}\` args, env, and cwd require program`);
  }

  // 2b. Codex 0.171: `auth_bearer_token` needs `url`.
  if (entry.url === undefined && entry.auth_bearer_token !== undefined) {
    throw fail(["auth_bearer_token"], `environment \`${id}\` auth_bearer_token requires url`);
  }

  // 3. `connect_timeout_sec` needs `url`.
  if (entry.url === undefined && entry.connect_timeout_sec !== undefined) {
    throw fail(["connect_timeout_sec"], `environment \`${id}\` connect_timeout_sec requires url`);
  }

  // 3b. Extension keys are websocket-only, checked in the same spirit as rule 3.
  for (const key of EXTENSION_ENTRY_KEYS) {
    if (entry.url === undefined && entry[key] !== undefined) {
      throw fail([key], `environment \`${id}\` ${key} requires url`);
    }
  }

  // 4. Exactly one transport.
  if ((entry.url === undefined) === (entry.program === undefined)) {
    throw fail(["url", "program"], `environment \`${id}\` must set exactly one of url or program`);
  }

  const initializeTimeoutMs = entry.initialize_timeout_sec ?? DEFAULT_INITIALIZE_TIMEOUT_MS;

  if (entry.url !== undefined) {
    // 5. The URL.
    const url = rustTrim(entry.url);
    const urlProblem = validateWebSocketUrl(url);
    if (urlProblem) throw fail(["url"], urlProblem);
    return {
      kind: "websocket",
      id,
      url,
      connectTimeoutMs: entry.connect_timeout_sec ?? DEFAULT_CONNECT_TIMEOUT_MS,
      initializeTimeoutMs,
      ...resolveWebSocketExtensions(entry, url, configDir, fail),
    };
  }

  // 6. The program.
  const program = rustTrim(entry.program ?? "");
  if (program === "") throw fail(["program"], `environment \`${id}\` program cannot be empty`);

  // 7. Cwd: relative paths are resolved against the config directory.
  return {
    kind: "stdio",
    id,
    program,
    args: [...(entry.args ?? [])],
    env: { ...entry.env },
    ...(entry.cwd === undefined ? {} : { cwd: resolvePath(configDir, entry.cwd) }),
    initializeTimeoutMs,
  };
}

/** Extension keys of a websocket entry (already known to have a valid `url`). */
function resolveWebSocketExtensions(
  entry: EnvironmentEntry,
  url: string,
  configDir: string,
  fail: Fail,
): Pick<WebSocketEnvironmentConfig, "authToken" | "tlsCaFile"> {
  const { id, auth_token_file: tokenFile, auth_token_env: tokenEnv, tls_ca_file: caFile } = entry;
  const bearer = entry.auth_bearer_token;
  const given = (
    [["auth_bearer_token", bearer], ["auth_token_file", tokenFile], ["auth_token_env", tokenEnv]] as const
  ).filter(([, value]) => value !== undefined).map(([key]) => key);
  if (given.length > 1) {
    throw fail([...given], `environment \`${id}\` ${given.join(" and ")} are mutually exclusive`);
  }
  const out: Pick<WebSocketEnvironmentConfig, "authToken" | "tlsCaFile"> = {};
  // Codex sends an empty token as no token.
  if (bearer !== undefined && bearer !== "") out.authToken = { value: bearer };
  if (tokenFile !== undefined) {
    if (rustTrim(tokenFile) === "") {
      throw fail(["auth_token_file"], `environment \`${id}\` auth_token_file cannot be empty`);
    }
    out.authToken = { file: resolvePath(configDir, tokenFile) };
  }
  if (tokenEnv !== undefined) {
    // Must be usable as a variable name: non-empty, no `=` and no NUL.
    if (tokenEnv === "" || /[=\0]/.test(tokenEnv) || rustTrim(tokenEnv) !== tokenEnv) {
      throw fail(
        ["auth_token_env"],
        `environment \`${id}\` auth_token_env \`${tokenEnv}\` is not a valid environment variable name`,
      );
    }
    out.authToken = { env: tokenEnv };
  }
  if (caFile !== undefined) {
    if (rustTrim(caFile) === "") {
      throw fail(["tls_ca_file"], `environment \`${id}\` tls_ca_file cannot be empty`);
    }
    // A CA bundle on ws:// would be silently unused; say so instead.
    if (!url.startsWith("wss://")) {
      throw fail(["tls_ca_file"], `environment \`${id}\` tls_ca_file requires a wss:// url`);
    }
    out.tlsCaFile = resolvePath(configDir, caFile);
  }
  return out;
}

/** Codex's id rules, in its order; returns the message or null. */
function validateEnvironmentId(id: string): string | null {
  const trimmed = rustTrim(id);
  if (trimmed === "") return "environment id cannot be empty";
  if (trimmed !== id) return `environment id \`${id}\` must not contain surrounding whitespace`;
  if (id === LOCAL_ENVIRONMENT_ID || id.toLowerCase() === "none") {
    return `environment id \`${id}\` is reserved`;
  }
  if (new TextEncoder().encode(id).length > MAX_ENVIRONMENT_ID_LENGTH) {
    return `environment id \`${id}\` cannot be longer than ${MAX_ENVIRONMENT_ID_LENGTH} characters`;
  }
  if (!/^[A-Za-z0-9_-]+$/.test(id)) {
    return `environment id \`${id}\` must contain only ASCII letters, numbers, '-' or '_'`;
  }
  return null;
}

/**
 * Codex's URL rules on an already-trimmed URL. The scheme check is its case-sensitive prefix test; the
 * final "is invalid" check approximates tungstenite's request parsing (exact for `ws://`, best effort for
 * the rarer malformed cases).
 */
function validateWebSocketUrl(url: string): string | null {
  if (url === "") return "environment url cannot be empty";
  if (!url.startsWith("ws://") && !url.startsWith("wss://")) {
    return `environment url \`${url}\` must use ws:// or wss://`;
  }
  const problem = websocketUrlProblem(url);
  return problem ? `environment url \`${url}\` is invalid: ${problem}` : null;
}

function websocketUrlProblem(url: string): string | null {
  const rest = url.slice(url.indexOf("://") + 3);
  if (rest === "") return "HTTP format error: empty string";
  // Characters the `http` crate refuses anywhere in a URI.
  if (/[^\x21-\x7e]|["<>\\^`{|}]/.test(url)) return "HTTP format error: invalid uri character";
  const authority = rest.split(/[/?#]/, 1)[0];
  if (authority === "") return "HTTP format error: invalid format";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (hostPort.startsWith("[") && !hostPort.includes("]")) return "HTTP format error: invalid authority";
  const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== "" && (!/^\d+$/.test(port) || Number(port) > 65535)) {
    return "HTTP format error: invalid port number";
  }
  const host = hostPort.replace(/:\d*$/, "");
  if (host === "") return "URL error: URL contains empty host name";
  try {
    new URL(url);
  } catch {
    return "HTTP format error: invalid authority";
  }
  return null;
}

export function resolveDefault(
  value: string | undefined,
  includeLocal: boolean,
  ids: ReadonlyMap<string, number>,
  fail: (reason: string) => ConfigError,
): string | null {
  if (value === undefined) return includeLocal ? LOCAL_ENVIRONMENT_ID : null;
  const id = rustTrim(value);
  if (id === "") throw fail("default environment id cannot be empty");
  if (id.toLowerCase() === "none") return null;
  if (!ids.has(id)) throw fail(`default environment \`${id}\` is not configured`);
  return id;
}

/** Rust's `str::trim` (Unicode White_Space): unlike JS `trim`, keeps U+FEFF and strips U+0085. */
export function rustTrim(value: string): string {
  return value.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
}

function resolvePath(configDir: string, path: string): string {
  return isAbsolute(path) ? path : join(configDir, path);
}
