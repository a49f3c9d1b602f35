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
 * finally `default`. This file holds the syntax stage and the order; the stages live beside it:
 * `environments_schema.ts` (shape), `environment_rules.ts` (rules and `default`), `environments_messages.ts`
 * (error texts) with `toml_line_lookup.ts` (the line), and `environment_config.ts` (what it resolves to).
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- by full specifier, so mod.ts imports without our deno.json
import { parse, TomlError } from "npm:smol-toml@1.9.1";
import { ConfigError } from "./config_error.ts";
import {
  type EnvironmentConfig,
  type EnvironmentsConfig,
  LOCAL_ENVIRONMENT_ID,
} from "./environment_config.ts";
import { resolveDefault, resolveEntry } from "./environment_rules.ts";
import { EnvironmentsFileSchema } from "./environments_schema.ts";
import { shapeError, validationError } from "./environments_messages.ts";

export {
  type AuthTokenSource,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_INITIALIZE_TIMEOUT_MS,
  type EnvironmentConfig,
  type EnvironmentsConfig,
  type EnvironmentsSource,
  LOCAL_ENVIRONMENT_ID,
  MAX_ENVIRONMENT_ID_LENGTH,
  MAX_TIMEOUT_MS,
  type StdioEnvironmentConfig,
  type WebSocketEnvironmentConfig,
} from "./environment_config.ts";
export { rustTrim } from "./environment_rules.ts";

/** Options of {@link parseEnvironmentsToml}. */
export interface ParseEnvironmentsTomlOptions {
  /** The file's path, used in messages and as the result's source. */
  path: string;
  /** Directory that relative `cwd` and extension file paths are resolved against (Codex: CODEX_HOME). */
  configDir: string;
}

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
