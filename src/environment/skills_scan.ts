/**
 * Capability discovery as Codex 0.171 does it: `capabilities/discoverV2` lists the skills under
 * `$CODEX_HOME/skills` and `$HOME/.agents/skills` (parsed: SKILL.md front matter and `agents/openai.yaml`),
 * and `capabilityRoots/discoverV1` returns the raw files of given roots (every SKILL.md, the plugin
 * manifest, its MCP and apps config, and the nearest namespace manifest). A SKILL.md is found at most six
 * directories below its root, in path order. All file access goes through a {@link ScanFs}, so the server
 * can run it directly or inside a sandbox.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type {
  CapabilityFile,
  CapabilityRootResult,
  DiscoveredSkill,
  DiscoverV2Result,
  SkillPolicy,
  SkillToolDependency,
} from "../protocol/capabilities.ts";
import { toFileUri } from "../protocol/paths.ts";

/** The file access discovery needs. Native absolute paths in and out. */
export interface ScanFs {
  /** Whether `path` is a directory; throws an error whose message is the OS error when it is absent. */
  isDirectory(path: string): Promise<boolean>;
  /**
   * Every file under `root`, breadth-first, at most `maxDepth` directories below it and reading at most
   * `maxDirectories` directories (the root included; `truncated` when more were left unread); symlinked
   * directories are followed (each descended once), symlinked files are not listed.
   */
  listFiles(
    root: string,
    limits: { maxDepth: number; maxDirectories: number },
  ): Promise<{ files: string[]; truncated: boolean }>;
  /** A file's text, or `null` when it cannot be read. */
  readText(path: string): Promise<string | null>;
}

/** How deep below its root a SKILL.md is still found (0.171: six directories, not seven). */
export const SKILL_MAX_DEPTH = 6;
/** How many directories one root's scan reads, the root included (0.171: 2000, then a warning). */
export const SKILL_MAX_DIRECTORIES = 2000;

const INCOMPLETE = "some capability metadata could not be loaded; discovery may be incomplete";

function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

async function skillFiles(fs: ScanFs, root: string): Promise<{ files: string[]; truncated: boolean }> {
  const { files, truncated } = await fs.listFiles(root, {
    maxDepth: SKILL_MAX_DEPTH,
    maxDirectories: SKILL_MAX_DIRECTORIES,
  });
  const skills = files.filter((f) => basename(f) === "SKILL.md");
  return { files: skills.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), truncated };
}

const traversalLimit = (uri: string) => `capability scan reached its traversal limit (root: ${uri})`;

async function readFile(fs: ScanFs, path: string): Promise<CapabilityFile | null> {
  const contents = await fs.readText(path);
  return contents === null ? null : { path: toFileUri(path), contents };
}

/** The skill roots of `capabilities/discoverV2`, by id. */
export function skillRoots(home: string | null, codexHome: string | null): { id: string; dir: string }[] {
  const roots: { id: string; dir: string }[] = [];
  const codex = codexHome ?? (home === null ? null : join(home, ".codex"));
  if (codex !== null) roots.push({ id: "codex-home-skills", dir: join(codex, "skills") });
  if (home !== null) roots.push({ id: "user-agent-skills", dir: join(home, ".agents/skills") });
  return roots;
}

/** `capabilities/discoverV2`: the parsed skills of every skill root; a skill that cannot be read is skipped with a warning. */
export async function discoverSkills(
  fs: ScanFs,
  roots: { id: string; dir: string }[],
): Promise<DiscoverV2Result> {
  const skills: DiscoveredSkill[] = [];
  let incomplete = false;
  for (const root of roots) {
    const isDir = await fs.isDirectory(root.dir).catch(() => false);
    if (!isDir) continue;
    const discoveryRoot = { id: root.id, path: toFileUri(root.dir) };
    const { files, truncated } = await skillFiles(fs, root.dir);
    // 0.171 reports a cut-short scan here with the general warning, not the traversal-limit one.
    if (truncated) incomplete = true;
    for (const file of files) {
      const text = await fs.readText(file);
      const front = text === null ? null : frontMatter(text);
      const fields = front === null ? null : skillFields(front, basename(parent(file)));
      if (fields === null) {
        incomplete = true;
        continue;
      }
      const metadata = await openaiYaml(fs, parent(file));
      skills.push({ ...fields, path: toFileUri(file), discoveryRoot, ...metadata });
    }
  }
  return { plugins: [], skills, warnings: incomplete ? [INCOMPLETE] : [] };
}

/**
 * The YAML between a leading `---` line and the next `---` line, parsed; `null` when absent or broken.
 * YAML that does not parse gets a second chance as 0.171 gives it: each top-level `key: value` with an
 * unquoted value is read as a quoted string (so `name: [` names the skill `[`).
 */
function frontMatter(text: string): Record<string, unknown> | null {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "---") return null;
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === "---");
  if (end < 0) return null;
  const body = lines.slice(1, end);
  for (const attempt of [body, body.map(quoteTopLevelValue)]) {
    try {
      const value = parseYaml(attempt.join("\n"));
      return isRecord(value) ? value : null;
    } catch {
      // Try the quoted form, then give up.
    }
  }
  return null;
}

function quoteTopLevelValue(line: string): string {
  const match = /^([A-Za-z0-9_-]+):[ \t]+(\S.*)$/.exec(line);
  if (!match || /^["']/.test(match[2])) return line;
  return `${match[1]}: ${JSON.stringify(match[2].trimEnd())}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A scalar as trimmed text (0.171 trims names and descriptions); `null` for anything else. */
function scalar(value: unknown): string | null {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

function skillFields(
  front: Record<string, unknown>,
  dirName: string,
): Pick<DiscoveredSkill, "name" | "description" | "shortDescription"> | null {
  const description = scalar(front.description);
  if (description === null || description === "") return null;
  const name = scalar(front.name) ?? dirName;
  const meta = isRecord(front.metadata) ? front.metadata : {};
  return { name, description, shortDescription: scalar(meta["short-description"]) };
}

/** `dependencies` and `policy` from a skill's `agents/openai.yaml`; both null when absent or unreadable. */
async function openaiYaml(
  fs: ScanFs,
  skillDir: string,
): Promise<Pick<DiscoveredSkill, "dependencies" | "policy">> {
  const text = await fs.readText(join(skillDir, "agents/openai.yaml"));
  let doc: unknown = null;
  try {
    doc = text === null ? null : parseYaml(text);
  } catch {
    doc = null;
  }
  if (!isRecord(doc)) return { dependencies: null, policy: null };
  let policy: SkillPolicy | null = null;
  if (isRecord(doc.policy)) {
    const allow = doc.policy.allow_implicit_invocation;
    const products = Array.isArray(doc.policy.products) ? doc.policy.products : [];
    policy = {
      allowImplicitInvocation: typeof allow === "boolean" ? allow : null,
      products: products.filter((p): p is string => typeof p === "string"),
    };
  }
  const tools: SkillToolDependency[] = [];
  const listed = isRecord(doc.dependencies) && Array.isArray(doc.dependencies.tools)
    ? doc.dependencies.tools
    : [];
  for (const tool of listed) {
    if (!isRecord(tool) || typeof tool.type !== "string" || typeof tool.value !== "string") continue;
    const text = (key: string) => (typeof tool[key] === "string" ? tool[key] as string : null);
    tools.push({
      type: tool.type,
      value: tool.value,
      description: text("description"),
      transport: text("transport"),
      command: text("command"),
      url: text("url"),
      // 0.171 reported null for every spelling of the port tried (`oauth_callback_port`, `oauthCallbackPort`).
      oauthCallbackPort: null,
    });
  }
  return { dependencies: tools.length === 0 ? null : { tools }, policy };
}

/**
 * `capabilityRoots/discoverV1` for one root: `uri` as the client sent it, `root` its native path. A root
 * that cannot be inspected or is not a directory is reported in `error`, with empty lists.
 */
export async function scanCapabilityRoot(
  fs: ScanFs,
  id: string,
  uri: string,
  root: string,
): Promise<CapabilityRootResult> {
  const result: CapabilityRootResult = {
    id,
    path: uri,
    plugin: null,
    skills: [],
    namespaceManifests: [],
    warnings: [],
    error: null,
  };
  let isDir: boolean;
  try {
    isDir = await fs.isDirectory(root);
  } catch (e) {
    result.error = `failed to inspect capability root ${uri}: ${e instanceof Error ? e.message : String(e)}`;
    return result;
  }
  if (!isDir) {
    result.error = `capability root ${uri} is not a directory`;
    return result;
  }
  const { files, truncated } = await skillFiles(fs, root);
  if (truncated) result.warnings.push(traversalLimit(uri));
  for (const file of files) {
    const contents = await fs.readText(file);
    if (contents === null) continue;
    result.skills.push({
      instructions: { path: toFileUri(file), contents },
      metadata: await readFile(fs, join(parent(file), "agents/openai.yaml")),
    });
  }
  const manifest = await readFile(fs, join(root, ".codex-plugin/plugin.json"));
  if (manifest !== null) {
    result.plugin = {
      manifest,
      mcpConfig: await readFile(fs, join(root, ".mcp.json")),
      appsConfig: await readFile(fs, join(root, ".app.json")),
    };
  }
  // The nearest `.codex-plugin/plugin.json` at the root or above it names the namespace.
  for (let dir = root;; dir = parent(dir)) {
    const found = dir === root ? manifest : await readFile(fs, join(dir, ".codex-plugin/plugin.json"));
    if (found !== null) {
      result.namespaceManifests.push(found);
      break;
    }
    if (dir === "/") break;
  }
  return result;
}
