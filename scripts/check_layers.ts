/**
 * `deno task check` runs this: the layers of `src/` checked from the import lines, so an arrow that points
 * the wrong way fails CI. A room is the first directory under `src/` (a file directly under `src/` is a
 * room named after the file). It reads static `import`/`export ... from "..."`, side-effect `import "..."`
 * and `import("...")` with a literal string in every `.ts` file under `src/` plus `mod.ts` and `main.ts`,
 * and checks:
 * - each relative import goes from a room to a room it may import ({@link ALLOWED});
 * - there is no cycle between rooms;
 * - no file under `src/` has more than {@link MAX_LINES} lines.
 *
 * Usage: `deno run --allow-read scripts/check_layers.ts [ROOT]` (ROOT defaults to this repository).
 * Exits 1 and prints one line per violation (file, import, rule) when a rule is broken.
 *
 * @module
 */

/** The longest a file under `src/` may be. */
export const MAX_LINES = 450;

/** The domains: they sit between `rpc` and `server` and import only downwards. */
const DOMAINS = ["process", "fs", "http", "sandbox", "environment", "config"] as const;

/**
 * Domain-to-domain arrows kept on purpose, each with why. Keep this list short: anything shared by two
 * domains belongs further down (protocol, rpc, util) or up in the server that composes them.
 */
const DOMAIN_ARROWS: Record<string, Record<string, string>> = {
  process: {
    environment: "a login-shell start runs the same shell that `environment/info` reports (loginShell)",
  },
};

/** Who may import whom (besides itself). Rooms not listed here are an error. */
export const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  version: [],
  protocol: ["util"],
  rpc: ["protocol", "util"],
  ...Object.fromEntries(
    DOMAINS.map((d) => [d, ["protocol", "rpc", "util", ...Object.keys(DOMAIN_ARROWS[d] ?? {})]]),
  ),
  // The relay (registration, Noise, relay frames): below the server, which may use it; knows no domain.
  remote: ["protocol", "rpc", "util"],
  server: [...DOMAINS, "remote", "protocol", "rpc", "util", "version"],
  client: ["protocol", "rpc", "config", "remote", "util", "version"],
  mcp: ["client", "protocol", "rpc", "util"],
  cli: [...DOMAINS, "server", "client", "mcp", "remote", "protocol", "rpc", "util", "version"],
  // The entry files (mod.ts, main.ts) compose everything; nothing under src/ may import them.
  entry: [...DOMAINS, "server", "client", "mcp", "cli", "remote", "protocol", "rpc", "util", "version"],
};

/** One broken rule. */
export interface Violation {
  file: string;
  line?: number;
  specifier?: string;
  rule: string;
}

/** One relative import found in a file. */
interface ImportLine {
  specifier: string;
  line: number;
}

/**
 * Blanks out comments (keeping newlines, so line numbers stay right) while leaving string and template
 * literals intact, so that an `import(...)` inside a comment is not read as an import.
 */
function stripComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") out += " ", i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && !(c !== "`" && text[j] === "\n")) {
        j += text[j] === "\\" ? 2 : 1;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_PATTERNS = [
  // import x from "..."; import type { A, B } from "..."; export { a } from "..."; export * as n from "..."
  /^[ \t]*(?:import|export)\s+(?:type\s+)?[\w$*{}\s,]*?\s*from\s*["']([^"'\n]+)["']/gm,
  // import "...";
  /^[ \t]*import\s*["']([^"'\n]+)["']/gm,
  // import("...") with a literal string
  /\bimport\(\s*["']([^"'\n]+)["']\s*\)/g,
];

/** Every import of one file's text, with its line number. */
export function parseAllImports(text: string): ImportLine[] {
  const code = stripComments(text);
  const found: ImportLine[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1];
      const at = match.index + match[0].lastIndexOf(specifier);
      found.push({ specifier, line: code.slice(0, at).split("\n").length });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/** The relative imports of one file's text (npm:, node: and mapped packages are not rooms). */
export function parseImports(text: string): ImportLine[] {
  return parseAllImports(text).filter(({ specifier }) => specifier.startsWith("."));
}

/**
 * A bare specifier (`zod/mini`) resolves only through this project's import map, so a file using one
 * breaks `mod.ts` for anyone importing it from outside: packages are named by full `npm:` specifier,
 * each in one file (`src/util/zod.ts`, `src/mcp/mcp_sdk.ts`) that the others import.
 */
function isBareSpecifier(specifier: string): boolean {
  return !specifier.startsWith(".") && !specifier.startsWith("/") && !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

/** `a/b/../c.ts` relative to the root, `/`-separated; null when it leaves the root. */
function resolveRelative(fromFile: string, specifier: string): string | null {
  const parts = fromFile.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join("/");
}

/**
 * The room of a root-relative path: the first directory under `src/`, `entry` for `mod.ts` and `main.ts`,
 * null for other files outside `src/` (such as `deno.json`), which are data, not rooms.
 */
export function roomOf(path: string): string | null {
  if (!path.startsWith("src/")) {
    // client.ts is the client-only entry: it may import only what the client room may.
    if (path === "client.ts") return "client";
    return ["mod.ts", "main.ts"].includes(path) ? "entry" : null;
  }
  const rest = path.slice("src/".length);
  const slash = rest.indexOf("/");
  return slash < 0 ? rest.replace(/\.ts$/, "") : rest.slice(0, slash);
}

function describeAllowed(room: string): string {
  const allowed = ALLOWED[room];
  return allowed.length === 0
    ? `${room} imports no other room`
    : `${room} may import only ${allowed.join(", ")}`;
}

/** The rule an import from `from` to `to` breaks, in words. */
function ruleFor(from: string, to: string): string {
  const isDomain = (r: string) => (DOMAINS as readonly string[]).includes(r);
  if (to === "entry") return "nothing under src/ imports mod.ts or main.ts";
  if (isDomain(from) && ["server", "client", "cli", "mcp"].includes(to)) {
    return `a domain never imports ${to} (${describeAllowed(from)})`;
  }
  if ((from === "rpc" || from === "protocol") && isDomain(to)) {
    return `${from} imports no domain (${describeAllowed(from)})`;
  }
  if (isDomain(from) && isDomain(to)) {
    return `domain ${from} may not import domain ${to}: not in DOMAIN_ARROWS of scripts/check_layers.ts (${
      describeAllowed(from)
    })`;
  }
  return describeAllowed(from);
}

async function* tsFiles(root: string, dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(`${root}/${dir}`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* tsFiles(root, path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Strongly connected components of more than one room (Tarjan), each sorted. */
function roomCycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The result of one check: what breaks a rule, and allowlist entries no longer needed. */
export interface LayerReport {
  violations: Violation[];
  warnings: string[];
}

/** Checks the tree at `root` (a directory holding `src/`, and maybe `mod.ts` and `main.ts`). */
export async function checkLayers(root: string): Promise<LayerReport> {
  const files: string[] = [];
  for (const entry of ["mod.ts", "main.ts", "client.ts"]) {
    if (await exists(`${root}/${entry}`)) files.push(entry);
  }
  for await (const file of tsFiles(root, "src")) files.push(file);

  const violations: Violation[] = [];
  const warnings: string[] = [];
  const edges = new Map<string, Set<string>>();
  const arrowSamples = new Map<string, string>();
  const usedArrows = new Set<string>();
  for (const file of files) {
    const text = await Deno.readTextFile(`${root}/${file}`);
    const from = roomOf(file)!;
    if (!(from in ALLOWED)) {
      violations.push({
        file,
        rule: `room \`${from}\` is not in the layer table (ALLOWED in scripts/check_layers.ts)`,
      });
      continue;
    }
    if (file.startsWith("src/")) {
      const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
      if (lines > MAX_LINES) {
        violations.push({ file, rule: `${lines} lines: no file under src/ may have more than ${MAX_LINES}` });
      }
    }
    for (const { specifier, line } of parseAllImports(text)) {
      if (isBareSpecifier(specifier)) {
        violations.push({
          file,
          line,
          specifier,
          rule: "a bare package name needs our import map: use its full npm: specifier (see src/util/zod.ts)",
        });
      }
    }
    for (const { specifier, line } of parseImports(text)) {
      const target = resolveRelative(file, specifier);
      if (target === null || !(await exists(`${root}/${target}`))) {
        violations.push({ file, line, specifier, rule: "the imported file does not exist" });
        continue;
      }
      const to = roomOf(target);
      if (to === null || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      if (!arrowSamples.has(`${from}->${to}`)) arrowSamples.set(`${from}->${to}`, `${file}:${line}`);
      if (DOMAIN_ARROWS[from]?.[to] !== undefined) usedArrows.add(`${from}->${to}`);
      if (!ALLOWED[from].includes(to)) violations.push({ file, line, specifier, rule: ruleFor(from, to) });
    }
  }
  for (const cycle of roomCycles(edges)) {
    const arrows = cycle.flatMap((a) =>
      cycle.filter((b) => edges.get(a)?.has(b)).map((b) => `${a} -> ${b} (${arrowSamples.get(`${a}->${b}`)})`)
    );
    violations.push({ file: "src/", rule: `rooms ${cycle.join(", ")} form a cycle: ${arrows.join("; ")}` });
  }
  for (const [from, tos] of Object.entries(DOMAIN_ARROWS)) {
    for (const to of Object.keys(tos)) {
      if (!usedArrows.has(`${from}->${to}`) && files.some((f) => roomOf(f) === from)) {
        warnings.push(
          `no file imports ${to} from ${from} now: remove it from DOMAIN_ARROWS in scripts/check_layers.ts`,
        );
      }
    }
  }
  return { violations, warnings };
}

/** `file:line: imports "spec": rule` */
export function formatViolation(v: Violation): string {
  const where = v.line === undefined ? v.file : `${v.file}:${v.line}`;
  return v.specifier === undefined ? `${where}: ${v.rule}` : `${where}: imports "${v.specifier}": ${v.rule}`;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const { violations, warnings } = await checkLayers(root);
  for (const warning of warnings) console.error(`check_layers: warning: ${warning}`);
  for (const v of violations) console.error(`check_layers: ${formatViolation(v)}`);
  if (violations.length > 0) {
    console.error(`check_layers: ${violations.length} layer rule(s) broken (rules: scripts/check_layers.ts)`);
    Deno.exit(1);
  }
  console.log("check_layers: ok");
}
