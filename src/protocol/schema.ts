/**
 * Shared zod building blocks and the decoder that turns zod issues into serde-style `-32602` messages
 * (``missing field `cwd` ``, ``unknown variant `x`, expected one of ...``), as Codex clients expect.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { RpcError } from "./errors.ts";
import { lazySchema } from "../util/lazy_schema.ts";
import "../util/zod_locale.ts";

export { lazySchema };

/** An unsigned 64-bit integer as JSON carries it (safe-integer range); anything else is "invalid number". */
export const u64 = lazySchema(() =>
  z.number().check(z.refine((n) => Number.isSafeInteger(n) && n >= 0, { message: "invalid number" }))
);

/** A signed 32-bit exit code. */
export const i32 = lazySchema(() => z.int());

/** `T | null | undefined` on input (serde `Option<T>`). */
export function optional<T extends z.ZodMiniType>(schema: T) {
  return z.nullish(schema);
}

/** Describes a JSON value the way serde's "invalid type" messages do. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  switch (typeof value) {
    case "string":
      return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)}`;
    case "number":
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case "boolean":
      return `boolean \`${value}\``;
    case "object":
      return "map";
    default:
      return String(typeof value);
  }
}

const EXPECTED_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  object: "a map",
  array: "a sequence",
  record: "a map",
  int: "an integer",
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replaceAll(".[", "[");
}

function lookup(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Formats the first zod issue as one serde-like sentence that names the field. */
export function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = fieldPath(issue.path);
  const at = path ? ` for field \`${path}\`` : "";
  const value = lookup(input, issue.path);
  switch (issue.code) {
    case "invalid_type": {
      const last = issue.path.at(-1);
      if (value === undefined && typeof last === "string") return `missing field \`${last}\``;
      // A struct named by its schema (`z.object(shape, { error: "struct Name" })`), as serde names it.
      const named = issue.expected === "object" && issue.message.startsWith("struct ");
      const expected = named ? issue.message : EXPECTED_NAMES[issue.expected] ?? issue.expected;
      return `invalid type: ${describeValue(value)}, expected ${expected}${at}`;
    }
    case "invalid_value":
      if (value === undefined && typeof issue.path.at(-1) === "string") {
        return `missing field \`${String(issue.path.at(-1))}\``;
      }
      if (typeof value === "string") {
        return `unknown variant \`${value}\`, expected one of ${
          issue.values.map((v) => `\`${String(v)}\``).join(", ")
        }${at}`;
      }
      return `invalid value: ${describeValue(value)}, expected one of ${
        issue.values.map((v) => `\`${String(v)}\``).join(", ")
      }${at}`;
    case "invalid_union": {
      const nested = issue.errors.flat()[0];
      if (nested && issue.errors.length === 1) return formatIssue(nested, input);
      return `data did not match any variant${at}`;
    }
    default:
      return `${issue.message}${at}`;
  }
}

/**
 * Decodes `params` with `schema`, throwing `RpcError(-32602)` with a serde-style message on failure.
 * `typeName` appears in the null-params message (`invalid type: null, expected struct ReadParams`).
 */
export function decodeParams<T>(schema: z.ZodMiniType<T>, params: unknown, typeName: string): T {
  if (params === undefined || params === null) {
    throw RpcError.invalidParams(`invalid type: null, expected struct ${typeName}`);
  }
  if (typeof params !== "object" || Array.isArray(params)) {
    throw RpcError.invalidParams(`invalid type: ${describeValue(params)}, expected struct ${typeName}`);
  }
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  throw RpcError.invalidParams(formatIssue(parsed.error.issues[0], params));
}
