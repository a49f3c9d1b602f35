/**
 * The messages of `environments.toml` errors: the file, the `[[environments]]` entry (0-based index and
 * id), the key and, when it can be found, the line, around Codex's reason text. Shape errors report the
 * first problem in document order, as serde would.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { locateLine } from "./toml_line_lookup.ts";

/** Keys as Rust lists them in messages: `` `a`, `b` ``. */
export const backticked = (keys: readonly string[]) => keys.map((k) => `\`${k}\``).join(", ");

type PathKey = PropertyKey;
interface ShapeIssue {
  code: string;
  path: PathKey[];
  message: string;
  keys?: string[];
}

/** The shape error for the first issue in document order. */
export function shapeError(
  text: string,
  path: string,
  raw: unknown,
  issues: readonly ShapeIssue[],
): ConfigError {
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

/** Where in the file a problem is: the entry (index and id) and the key(s). */
export interface Location {
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

/** The validation error for a failed rule at `location`; `note` is extra text after Codex's reason. */
export function validationError(
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
