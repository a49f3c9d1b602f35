/**
 * `environmentConfig/read` as Codex 0.171 answers it. Config layers, in order: the system
 * `/etc/codex/config.toml`, the user `$CODEX_HOME/config.toml` and the legacy managed
 * `/etc/codex/managed_config.toml`; requirements: `/etc/codex/requirements.toml` (project configs are not
 * read). Each is cut down to the requested key paths and re-serialised as TOML the way the `toml` crate
 * writes it (values before sub-tables, a `[a.b]` header only for a table with values or nothing at all,
 * `[[a]]` for each table of an array, a blank line before each header, keys in the file's order). A path
 * selects each table on its way that exists (so a missing leaf still yields `[a]`) and the whole of a
 * non-table value it reaches; a layer with nothing selected is left out. `cloudInsertionIndex` is where
 * cloud layers would go: after the system layers that are present.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- by full specifier, so mod.ts imports without our deno.json
import { parse as parseToml, TomlError } from "npm:smol-toml@1.9.1";
import type { ConfigLayer, EnvironmentConfigReadParams } from "../protocol/capabilities.ts";
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { toFileUri } from "../protocol/paths.ts";

type Table = Record<string, unknown>;
/** `true`: take the whole value; otherwise the sub-selection by key. */
type Selection = true | Map<string, Selection>;

/** Where 0.171 reads the system and managed layers. */
export const SYSTEM_CONFIG_DIR = "/etc/codex";

/** Layers of one kind and where cloud layers would be inserted among them. */
export interface ConfigLayers {
  layers: ConfigLayer[];
  cloudInsertionIndex: number;
}

/** Checks the paths, as 0.171 does before reading anything (-32602). */
export function checkConfigPaths(params: EnvironmentConfigReadParams): void {
  if (params.configPaths.length === 0 && params.requirementsPaths.length === 0) {
    throw RpcError.invalidParams("at least one config or requirements path is required");
  }
  for (const path of [...params.configPaths, ...params.requirementsPaths]) {
    if (path.length === 0) throw RpcError.invalidParams("TOML paths must contain at least one key segment");
  }
}

interface LayerFile {
  file: string;
  source: string;
  baseDir: string;
  /** A system layer: cloud layers go after it. */
  beforeCloud: boolean;
}

/** The config layers for `paths` (see the module doc). */
export function readConfigLayers(codexHome: string | null, paths: string[][]): Promise<ConfigLayers> {
  const system = `${SYSTEM_CONFIG_DIR}/config.toml`;
  const managed = `${SYSTEM_CONFIG_DIR}/managed_config.toml`;
  const files: LayerFile[] = [
    { file: system, source: `system (${system})`, baseDir: SYSTEM_CONFIG_DIR, beforeCloud: true },
  ];
  if (codexHome !== null) {
    const home = codexHome.replace(/\/+$/, "") || "/";
    const user = `${home === "/" ? "" : home}/config.toml`;
    files.push({ file: user, source: `user (${user})`, baseDir: home, beforeCloud: false });
  }
  return readLayers(paths, [
    ...files,
    {
      file: managed,
      source: `legacy managed_config.toml (${managed})`,
      baseDir: SYSTEM_CONFIG_DIR,
      beforeCloud: false,
    },
  ]);
}

/** The requirements layers for `paths`: `/etc/codex/requirements.toml`. */
export function readRequirementsLayers(paths: string[][]): Promise<ConfigLayers> {
  const file = `${SYSTEM_CONFIG_DIR}/requirements.toml`;
  return readLayers(paths, [{ file, source: file, baseDir: SYSTEM_CONFIG_DIR, beforeCloud: true }]);
}

async function readLayers(paths: string[][], files: LayerFile[]): Promise<ConfigLayers> {
  const out: ConfigLayers = { layers: [], cloudInsertionIndex: 0 };
  if (paths.length === 0) return out;
  const want = selection(paths);
  for (const layer of files) {
    const doc = await readToml(layer.file);
    if (doc === null) continue;
    const picked = pick(doc, want) as Table;
    if (Object.keys(picked).length === 0) continue;
    out.layers.push({ source: layer.source, baseDir: toFileUri(layer.baseDir), toml: writeToml(picked) });
    if (layer.beforeCloud) out.cloudInsertionIndex = out.layers.length;
  }
  return out;
}

/** A TOML file parsed (integers as bigint, so they stay exact and apart from floats); `null` when absent. */
async function readToml(file: string): Promise<Table | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new RpcError(
      ErrorCode.InternalError,
      `failed to load executor-local config: ${file}: ${String(e)}`,
    );
  }
  try {
    return parseToml(text, { integersAsBigInt: true }) as Table;
  } catch (e) {
    const where = e instanceof TomlError ? `${file}:${e.line}:${e.column}` : file;
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new RpcError(ErrorCode.InternalError, `failed to load executor-local config: ${where}: ${reason}`);
  }
}

function selection(paths: string[][]): Selection {
  const root: Map<string, Selection> = new Map();
  for (const path of paths) {
    let node: Map<string, Selection> = root;
    for (let i = 0; i < path.length; i++) {
      const existing = node.get(path[i]);
      if (existing === true) break;
      if (i === path.length - 1) {
        node.set(path[i], true);
        break;
      }
      const next = existing ?? new Map<string, Selection>();
      node.set(path[i], next);
      node = next;
    }
  }
  return root;
}

function isTable(value: unknown): value is Table {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

/** The selected part of `value`: a table keeps each wanted key it has (an empty table when none). */
function pick(value: unknown, want: Selection): unknown {
  if (want === true || !isTable(value)) return value;
  const out: Table = {};
  for (const [key, item] of Object.entries(value)) {
    const sub = want.get(key);
    if (sub !== undefined) out[key] = pick(item, sub);
  }
  return out;
}

function isTableArray(value: unknown): value is Table[] {
  return Array.isArray(value) && value.length > 0 && value.every(isTable);
}

function key(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : basic(name);
}

/** A basic string with every escape, on one line. */
function basic(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

const TRIPLE_SINGLE = "'''";
const TRIPLE_DOUBLE = '"""';

/**
 * A string the way the `toml` crate writes it, as observed from 0.171: plain text as a basic string; text
 * with a double quote or backslash as a literal string (the triple-quoted one when it holds a single
 * quote); text with newlines as a multi-line string starting after a newline (basic unless it holds a
 * backslash or three double quotes, then literal); control characters (but tab and newline) escaped.
 */
function stringValue(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text)) return basic(text);
  if (text.includes("\n")) {
    if (!text.includes("\\") && !text.includes(TRIPLE_DOUBLE)) {
      return `${TRIPLE_DOUBLE}\n${text}${TRIPLE_DOUBLE}`;
    }
    if (!text.includes(TRIPLE_SINGLE)) return `${TRIPLE_SINGLE}\n${text}${TRIPLE_SINGLE}`;
    return basic(text);
  }
  if (!text.includes('"') && !text.includes("\\")) return basic(text);
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes(TRIPLE_SINGLE)) return `${TRIPLE_SINGLE}${text}${TRIPLE_SINGLE}`;
  if (!text.includes("\\") && !text.includes(TRIPLE_DOUBLE)) return `${TRIPLE_DOUBLE}${text}${TRIPLE_DOUBLE}`;
  return basic(text);
}

/** A float as Rust prints it: `1.0` for whole numbers, `inf`, `-inf`, `nan`. */
function floatValue(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value)) return `${BigInt(value)}.0`;
  return String(value);
}

function inlineValue(value: unknown): string {
  if (typeof value === "string") return stringValue(value);
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "number") return floatValue(value);
  // smol-toml's dates keep their form (date only, time only, local, offset); whole seconds without `.000`.
  if (value instanceof Date) return value.toISOString().replace(/\.000(?=Z|[+-]|$)/, "");
  if (Array.isArray(value)) return `[${value.map(inlineValue).join(", ")}]`;
  if (isTable(value)) {
    const inner = Object.entries(value).map(([k, v]) => `${key(k)} = ${inlineValue(v)}`);
    return inner.length === 0 ? "{}" : `{ ${inner.join(", ")} }`;
  }
  return String(value);
}

/** Serialises a document in the `toml` crate's layout (see the module doc). */
export function writeToml(doc: Table): string {
  const sections: string[] = [];
  writeTable(doc, [], sections, false);
  return sections.join("\n");
}

function writeTable(table: Table, path: string[], sections: string[], arrayItem: boolean): void {
  const values = Object.entries(table).filter(([, v]) => !isTable(v) && !isTableArray(v));
  const nested = Object.entries(table).filter(([, v]) => isTable(v) || isTableArray(v));
  const header = path.map(key).join(".");
  if (path.length === 0) {
    if (values.length > 0) sections.push(values.map(([k, v]) => `${key(k)} = ${inlineValue(v)}\n`).join(""));
  } else if (arrayItem || values.length > 0 || nested.length === 0) {
    const head = arrayItem ? `[[${header}]]\n` : `[${header}]\n`;
    sections.push(head + values.map(([k, v]) => `${key(k)} = ${inlineValue(v)}\n`).join(""));
  }
  for (const [k, v] of nested) {
    if (isTableArray(v)) { for (const item of v) writeTable(item, [...path, k], sections, true); }
    else writeTable(v as Table, [...path, k], sections, false);
  }
}
