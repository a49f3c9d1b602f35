/**
 * `environments.toml`: schema, validation and resolution to concrete environment configs.
 *
 * Mirrors Codex 0.140.0 exactly (same keys, same defaults, same validation order, Codex's message text
 * verbatim inside ours) so an existing `$CODEX_HOME/environments.toml` loads unchanged. Our messages add
 * the file, the `[[environments]]` entry (0-based index and id), the key and, when it can be found, the line.
 *
 * Three extension keys exist on websocket entries (`auth_token_file`, `auth_token_env`, `tls_ca_file`);
 * Codex rejects unknown keys, so a Codex-only file never contains them and stays valid here.
 *
 * Stages, in Codex's order: TOML syntax, then shape (unknown keys, value types, durations; the first
 * problem in document order wins, like serde), then per-entry rules one entry at a time, duplicates, and
 * finally `default`.
 *
 * @module
 */
import { isAbsolute, join } from "../util/path.ts";
import { parse, TomlError } from "smol-toml";
import * as z from "zod/mini";
import { lazySchema } from "../util/lazy_schema.ts";
import "../util/zod_locale.ts";
import { MAX_TIMER_MS } from "../util/timers.ts";
import { ConfigError } from "./config_error.ts";

import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_INITIALIZE_TIMEOUT_MS } from "./timeouts.ts";
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_INITIALIZE_TIMEOUT_MS };
/** Id of the built-in local environment (reserved as an entry id, exact case). */
export const LOCAL_ENVIRONMENT_ID = "local";
/** Longest accepted environment id, in UTF-8 bytes like Codex's `str::len`. */
export const MAX_ENVIRONMENT_ID_LENGTH = 64;

/** Where a websocket environment's bearer token comes from (extension; read at connect time, not here). */
export type AuthTokenSource = { file: string } | { env: string };

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

/** One configured remote environment. */
export type EnvironmentConfig = WebSocketEnvironmentConfig | StdioEnvironmentConfig;

/** Which source produced an {@link EnvironmentsConfig}. */
export type EnvironmentsSource =
  | { kind: "file"; path: string }
  /** The legacy `CODEX_EXEC_SERVER_URL` provider; `value` is the trimmed variable. */
  | { kind: "env"; value: string }
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

/** Options of {@link parseEnvironmentsToml}. */
export interface ParseEnvironmentsTomlOptions {
  /** The file's path, used in messages and as the result's source. */
  path: string;
  /** Directory that relative `cwd` and extension file paths are resolved against (Codex: CODEX_HOME). */
  configDir: string;
}

// ---------------------------------------------------------------------------------------------------------
// Shape (zod). Messages are serde's, produced here, so the shape stage reads like Codex's TOML errors.

const TOP_LEVEL_KEYS = ["default", "include_local", "environments"] as const;
const CODEX_ENTRY_KEYS = [
  "id",
  "url",
  "program",
  "args",
  "env",
  "cwd",
  "connect_timeout_sec",
  "initialize_timeout_sec",
] as const;
const EXTENSION_ENTRY_KEYS = ["auth_token_file", "auth_token_env", "tls_ca_file"] as const;

const backticked = (keys: readonly string[]) => keys.map((k) => `\`${k}\``).join(", ");

/** serde's `Unexpected` wording for a TOML value. */
function describeValue(value: unknown): string {
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `integer \`${value}\``;
  if (typeof value === "number") return `floating point \`${formatFloat(value)}\``;
  if (typeof value === "boolean") return `boolean \`${value}\``;
  if (Array.isArray(value)) return "sequence";
  if (value instanceof Date) return "datetime";
  return "map";
}

/** Rust's float display with serde's forced decimal point (`3.0`, `inf`, `NaN`). */
function formatFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return `${BigInt(value)}.0`;
  return String(value);
}

/** serde-style message for a wrong type or a missing required key. */
function typeError(key: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `missing field \`${key}\``
      : `invalid type: ${describeValue(issue.input)}, expected ${expected}`;
}

const stringField = (key: string, expected = "a string") => z.string({ error: typeError(key, expected) });

/**
 * Codex reads timeouts as f64 seconds and converts with `Duration::try_from_secs_f64`; we reproduce its
 * errors and resolve straight to milliseconds (rounded to whole ns first, like Duration, then up to whole ms
 * so a tiny positive timeout never becomes 0).
 */
const durationMs = (key: string) =>
  z.pipe(
    z.optional(z.unknown()),
    z.transform((value: unknown, payload): number | undefined => {
      const fail = (message: string) => {
        payload.issues.push({ code: "custom", message, input: value });
        return z.NEVER;
      };
      if (value === undefined) return undefined;
      if (typeof value !== "number" && typeof value !== "bigint") {
        return fail(typeError(key, "f64")({ input: value }));
      }
      const secs = Number(value);
      if (secs < 0) return fail("cannot convert float seconds to Duration: value is negative");
      if (Number.isNaN(secs) || secs >= 2 ** 64) {
        return fail("cannot convert float seconds to Duration: value is either too big or NaN");
      }
      const ms = Math.ceil(Math.round(secs * 1e9) / 1e6);
      // Codex accepts up to ~1.8e19 s; a longer JS delay would fire at once, so clamp to what setTimeout
      // honours. `|| 0` turns `-0.0` into a plain 0.
      return Math.min(ms, MAX_TIMER_MS) || 0;
    }),
  );

/** Error messages of a strict table: serde's unknown-field text, or a wrong-type text for a non-table. */
function tableError(allowed: readonly string[], extensions: readonly string[], expected: string) {
  return (issue: { code?: string; keys?: string[]; input?: unknown }): string => {
    if (issue.code === "unrecognized_keys" && issue.keys?.length) {
      const base = `unknown field \`${issue.keys[0]}\`, expected one of ${backticked(allowed)}`;
      // Codex's text stays verbatim; our extra keys are appended so the hint is still complete.
      return extensions.length ? `${base} (exec-server extensions: ${backticked(extensions)})` : base;
    }
    return `invalid type: ${describeValue(issue.input)}, expected ${expected}`;
  };
}

const EnvironmentEntrySchema = lazySchema(() =>
  z.strictObject({
    id: stringField("id"),
    url: z.optional(stringField("url")),
    program: z.optional(stringField("program")),
    args: z.optional(z.array(stringField("args"), { error: typeError("args", "a sequence") })),
    env: z.optional(z.record(z.string(), stringField("env"), { error: typeError("env", "a map") })),
    cwd: z.optional(stringField("cwd", "path string")),
    connect_timeout_sec: durationMs("connect_timeout_sec"),
    initialize_timeout_sec: durationMs("initialize_timeout_sec"),
    // Extensions (exec-server only).
    auth_token_file: z.optional(stringField("auth_token_file", "path string")),
    auth_token_env: z.optional(stringField("auth_token_env")),
    tls_ca_file: z.optional(stringField("tls_ca_file", "path string")),
  }, { error: tableError(CODEX_ENTRY_KEYS, EXTENSION_ENTRY_KEYS, "struct EnvironmentToml") })
);

const EnvironmentsFileSchema = lazySchema(() =>
  z.strictObject({
    default: z.optional(stringField("default")),
    include_local: z.optional(z.boolean({ error: typeError("include_local", "a boolean") })),
    environments: z.optional(
      z.array(EnvironmentEntrySchema, { error: typeError("environments", "a sequence") }),
    ),
  }, { error: tableError(TOP_LEVEL_KEYS, [], "struct EnvironmentsToml") })
);

type EnvironmentEntry = z.output<typeof EnvironmentEntrySchema>;

// ---------------------------------------------------------------------------------------------------------
// Public entry point.

/**
 * Parses and validates the text of an `environments.toml`, resolving every default (timeouts, `cwd`,
 * extension paths, the default environment) so callers get concrete values.
 *
 * @throws {ConfigError} on a TOML syntax error (`kind: "syntax"`), a shape error (`"shape"`) or a failed
 * rule (`"validation"`); `reason` holds Codex's message text verbatim.
 */
export function parseEnvironmentsToml(
  text: string,
  options: ParseEnvironmentsTomlOptions,
): EnvironmentsConfig {
  const { path, configDir } = options;
  const raw = parseTomlText(text, path);

  const shaped = EnvironmentsFileSchema.safeParse(raw);
  if (!shaped.success) throw shapeError(text, path, raw, shaped.error.issues);
  const file = shaped.data;

  const includeLocal = file.include_local ?? true;
  const entries = file.environments ?? [];
  // `local` is pre-registered so `default = "local"` works exactly when the local environment exists.
  const seen = new Map<string, number>(includeLocal ? [[LOCAL_ENVIRONMENT_ID, -1]] : []);
  const environments: EnvironmentConfig[] = [];

  for (const [index, entry] of entries.entries()) {
    const fail = (keys: string[], reason: string, note?: string) =>
      validationError(text, path, reason, { entryIndex: index, entryId: entry.id, keys }, note);
    const environment = resolveEntry(entry, configDir, fail);
    const first = seen.get(environment.id);
    if (first !== undefined) {
      const note = first >= 0 ? ` (first defined by environments[${first}])` : undefined;
      throw fail(["id"], `environment id \`${environment.id}\` is duplicated`, note);
    }
    seen.set(environment.id, index);
    environments.push(environment);
  }

  const defaultId = resolveDefault(
    file.default,
    includeLocal,
    seen,
    (reason) => validationError(text, path, reason, { keys: ["default"] }),
  );
  return { defaultId, includeLocal, environments, source: { kind: "file", path } };
}

// ---------------------------------------------------------------------------------------------------------
// Syntax.

function parseTomlText(text: string, path: string): Record<string, unknown> {
  try {
    // Integers as BigInt so `3` and `3.0` stay distinguishable in type errors, like toml-rs.
    return parse(text, { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const detail = err.message.replace(/^Invalid TOML document: /, "");
    const reason = `TOML parse error at line ${err.line}, column ${err.column}: ${detail}`;
    throw new ConfigError(`failed to parse environment config \`${path}\`: ${reason}`, {
      kind: "syntax",
      path,
      reason,
      line: err.line,
    }, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shape errors: report the first problem in document order, as serde would.

type PathKey = PropertyKey;
interface ShapeIssue {
  code: string;
  path: PathKey[];
  message: string;
  keys?: string[];
}

function shapeError(text: string, path: string, raw: unknown, issues: readonly ShapeIssue[]): ConfigError {
  const located = issues.map((issue) => {
    // Point unknown-key issues at the (first) unknown key itself rather than at its table.
    const at = issue.code === "unrecognized_keys" && issue.keys?.length
      ? [...issue.path, issue.keys[0]]
      : issue.path;
    return { issue, at, order: documentOrder(raw, at) };
  });
  located.sort((a, b) => compareOrder(a.order, b.order));
  const { issue, at } = located[0];

  const location = describeLocation(raw, at);
  const line = locateLine(text, at);
  const reason = issue.message;
  const where = formatLocation({ ...location, line });
  return new ConfigError(`failed to parse environment config \`${path}\`: ${where}${reason}`, {
    kind: "shape",
    path,
    reason,
    ...location,
    ...(line === undefined ? {} : { line }),
  });
}

/** Position of each path segment within its container; absent keys sort after present ones (serde's "missing field"). */
function documentOrder(root: unknown, at: readonly PathKey[]): number[] {
  const order: number[] = [];
  let node: unknown = root;
  for (const segment of at) {
    if (Array.isArray(node) && typeof segment === "number") {
      order.push(segment);
      node = node[segment];
    } else if (node !== null && typeof node === "object") {
      const index = Object.keys(node).indexOf(String(segment));
      order.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
      node = (node as Record<string, unknown>)[String(segment)];
    } else {
      break;
    }
  }
  return order;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

interface Location {
  entryIndex?: number;
  entryId?: string;
  keys?: string[];
}

/** The entry and key a shape-issue path points at (`["environments", 1, "env", "A"]` → entry 1, key `env`). */
function describeLocation(raw: unknown, at: readonly PathKey[]): Location {
  if (at[0] !== "environments" || typeof at[1] !== "number") {
    return at.length ? { keys: [String(at[0])] } : {};
  }
  const entryIndex = at[1];
  const entries = (raw as Record<string, unknown>).environments as unknown[];
  const entry = entries[entryIndex];
  const id = entry !== null && typeof entry === "object" ? (entry as Record<string, unknown>).id : undefined;
  return {
    entryIndex,
    ...(typeof id === "string" ? { entryId: id } : {}),
    ...(at.length > 2 ? { keys: [String(at[2])] } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Per-entry rules, in Codex's order.

/** Builds the validation error for the current entry; `note` is extra text after Codex's reason. */
type Fail = (keys: string[], reason: string, note?: string) => ConfigError;

function resolveEntry(entry: EnvironmentEntry, configDir: string, fail: Fail): EnvironmentConfig {
  const { id } = entry;

  // 1. Id.
  const idProblem = validateEnvironmentId(id);
  if (idProblem) throw fail(["id"], idProblem);

  // 2. Stdio-only keys need `program` (also when combined with `url`).
  if (entry.program === undefined) {
    const stray = (["args", "env", "cwd"] as const).filter((k) => entry[k] !== undefined);
    if (stray.length) throw fail(stray, `environment \`${id}\` args, env, and cwd require program`);
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
  if (tokenFile !== undefined && tokenEnv !== undefined) {
    throw fail(
      ["auth_token_file", "auth_token_env"],
      `environment \`${id}\` auth_token_file and auth_token_env are mutually exclusive`,
    );
  }
  const out: Pick<WebSocketEnvironmentConfig, "authToken" | "tlsCaFile"> = {};
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

/** Codex's `default` handling: trimmed, `none` (any case) disables, otherwise must be a known id. */
function resolveDefault(
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

// ---------------------------------------------------------------------------------------------------------
// Helpers.

/** Rust's `str::trim` (Unicode White_Space): unlike JS `trim`, keeps U+FEFF and strips U+0085. */
export function rustTrim(value: string): string {
  return value.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
}

function resolvePath(configDir: string, path: string): string {
  return isAbsolute(path) ? path : join(configDir, path);
}

function validationError(
  text: string,
  path: string,
  reason: string,
  location: Location,
  note = "",
): ConfigError {
  const at: PathKey[] = location.entryIndex === undefined
    ? [...(location.keys ?? []).slice(0, 1)]
    : ["environments", location.entryIndex, ...(location.keys ?? []).slice(0, 1)];
  const line = locateLine(text, at);
  return new ConfigError(`${path}: ${formatLocation({ ...location, line })}${reason}${note}`, {
    kind: "validation",
    path,
    reason,
    ...location,
    ...(line === undefined ? {} : { line }),
  });
}

/** `environments[1] (id `dev`), key `args` (line 7): ` — every part optional. */
function formatLocation(location: Location & { line?: number }): string {
  const parts: string[] = [];
  if (location.entryIndex !== undefined) {
    parts.push(
      `environments[${location.entryIndex}]` +
        (location.entryId === undefined ? "" : ` (id \`${location.entryId}\`)`),
    );
  }
  const keys = location.keys ?? [];
  if (keys.length === 1) parts.push(`key \`${keys[0]}\``);
  if (keys.length > 1) parts.push(`keys ${backticked(keys)}`);
  let out = parts.join(", ");
  if (location.line !== undefined) out += `${out ? " " : ""}(line ${location.line})`;
  return out ? `${out}: ` : "";
}

/**
 * Best-effort 1-based line of a top-level key, an `[[environments]]` entry, or a key inside one, for the
 * usual `[[environments]]` layout. Returns undefined (no line shown) for inline-array layouts.
 */
function locateLine(text: string, at: readonly PathKey[]): number | undefined {
  const lines = text.split(/\r?\n/);
  const isHeader = (l: string) => /^\s*\[/.test(l);
  const keyLine = (from: number, key: string): number | undefined => {
    const k = escapeRegExp(key);
    // `key =`, a quoted key, or a dotted key (`env.A = …`); stop at the next table header.
    const pattern = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*[=.]`);
    for (let i = from; i < lines.length && !isHeader(lines[i]); i++) {
      if (pattern.test(lines[i])) return i + 1;
    }
    return undefined;
  };
  if (at.length === 0) return undefined;
  if (at[0] !== "environments" || typeof at[1] !== "number") return keyLine(0, String(at[0]));

  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\[\[\s*(?:environments|"environments"|'environments')\s*\]\]/.test(lines[i])) continue;
    if (++seen !== at[1]) continue;
    if (at.length < 3) return i + 1;
    return keyLine(i + 1, String(at[2])) ?? i + 1;
  }
  return undefined;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
