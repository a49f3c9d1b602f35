/**
 * The shape stage of `environments.toml` (zod): unknown keys, value types and durations, with serde's
 * messages produced here so the stage reads like Codex's TOML errors.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { lazySchema } from "../util/lazy_schema.ts";
import "../util/zod_locale.ts";
import { MAX_TIMEOUT_MS } from "./environment_config.ts";
import { backticked } from "./environments_messages.ts";

const TOP_LEVEL_KEYS = ["default", "include_local", "environments"] as const;
/** Codex 0.171's entry keys, in its order (0.140's lacked `skills` and `auth_bearer_token`). */
const CODEX_ENTRY_KEYS = [
  "id",
  "skills",
  "url",
  "auth_bearer_token",
  "program",
  "args",
  "env",
  "cwd",
  "connect_timeout_sec",
  "initialize_timeout_sec",
] as const;
/** Keys only exec-server accepts on an entry (websocket entries only). */
export const EXTENSION_ENTRY_KEYS = ["auth_token_file", "auth_token_env", "tls_ca_file"] as const;

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
      return Math.min(ms, MAX_TIMEOUT_MS) || 0; // `|| 0` turns `-0.0` into a plain 0
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

/** Codex 0.171's `[environments.skills]`: skills the environment must provide (accepted; not used here). */
const ScopedSkillsSchema = lazySchema(() =>
  z.strictObject({
    required: z.optional(
      z.array(stringField("required"), { error: typeError("required", "a sequence") }),
    ),
  }, {
    error: (issue: { code?: string; keys?: string[]; input?: unknown }) =>
      issue.code === "unrecognized_keys" && issue.keys?.length
        ? `unknown field \`${issue.keys[0]}\`, expected \`required\``
        : `invalid type: ${describeValue(issue.input)}, expected struct ScopedSkillsConfig`,
  })
);

const EnvironmentEntrySchema = lazySchema(() =>
  z.strictObject({
    id: stringField("id"),
    skills: z.optional(ScopedSkillsSchema),
    url: z.optional(stringField("url")),
    /** Codex 0.171: the bearer token itself (requires `url`). */
    auth_bearer_token: z.optional(stringField("auth_bearer_token")),
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

/** The whole file: top-level keys and the `[[environments]]` entries. */
export const EnvironmentsFileSchema = lazySchema(() =>
  z.strictObject({
    default: z.optional(stringField("default")),
    include_local: z.optional(z.boolean({ error: typeError("include_local", "a boolean") })),
    environments: z.optional(
      z.array(EnvironmentEntrySchema, { error: typeError("environments", "a sequence") }),
    ),
  }, { error: tableError(TOP_LEVEL_KEYS, [], "struct EnvironmentsToml") })
);

/** One `[[environments]]` entry as shaped (timeouts already in milliseconds). */
export type EnvironmentEntry = z.output<typeof EnvironmentEntrySchema>;
