/**
 * `capabilities/discoverV2` as Codex 0.171 answers it: the skills under `$CODEX_HOME/skills`,
 * `$HOME/.agents/skills` and `/etc/codex/skills`, parsed (SKILL.md front matter: name, description, metadata.short-description;
 * `agents/openai.yaml`: dependencies and policy), in path order within each root. A SKILL.md that cannot
 * be used (no front matter, no description, too big, not UTF-8) is skipped and the answer carries the
 * general "incomplete" warning; so does a cut-short scan or an unreadable `agents/openai.yaml`.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- by full specifier, so mod.ts imports without our deno.json
import { parse as parseYaml } from "npm:yaml@2.9.1";
import type {
  DiscoveredSkill,
  DiscoverV2Result,
  SkillPolicy,
  SkillToolDependency,
} from "../protocol/capabilities.ts";
import { toFileUri } from "../protocol/paths.ts";
import { basename, join, parent, readCapabilityFile, scanFiles, type ScanFs } from "./capability_files.ts";

/** The warning 0.171 adds once per skill root or plugin that was not fully read. */
export const INCOMPLETE = "some capability metadata could not be loaded; discovery may be incomplete";

/** The skill roots of `capabilities/discoverV2`, by id. */
export function skillRoots(home: string | null, codexHome: string | null): { id: string; dir: string }[] {
  const roots: { id: string; dir: string }[] = [];
  const codex = codexHome ?? (home === null ? null : join(home, ".codex"));
  if (codex !== null) roots.push({ id: "codex-home-skills", dir: join(codex, "skills") });
  if (home !== null) roots.push({ id: "user-agent-skills", dir: join(home, ".agents/skills") });
  roots.push({ id: "system-skills", dir: SYSTEM_SKILLS });
  return roots;
}

/** The machine's skills (0.171's `system-skills` root), next to its system config in `/etc/codex`. */
const SYSTEM_SKILLS = "/etc/codex/skills";

/** A skill as parsed, before it is placed in a root or a plugin. */
export type ParsedSkill = Omit<DiscoveredSkill, "discoveryRoot">;

/**
 * The parsed skills under `dir` in path order; `incomplete` when one was skipped, an `agents/openai.yaml`
 * could not be read or the scan was cut short (0.171 then adds its general warning once for `dir`).
 */
export async function scanSkillDir(
  fs: ScanFs,
  dir: string,
): Promise<{ skills: ParsedSkill[]; incomplete: boolean }> {
  const skills: ParsedSkill[] = [];
  const { files, truncated } = await scanFiles(fs, dir);
  // 0.171 reports a cut-short scan here with the general warning, not the traversal-limit one.
  let incomplete = truncated;
  for (const file of files.filter((f) => basename(f) === "SKILL.md")) {
    const read = await readCapabilityFile(fs, file);
    const front = "text" in read ? frontMatter(read.text) : null;
    const fields = front === null ? null : skillFields(front, basename(parent(file)));
    if (fields === null) {
      incomplete = true;
      continue;
    }
    const metadata = await openaiYaml(fs, parent(file), () => incomplete = true);
    skills.push({ ...fields, path: toFileUri(file), ...metadata });
  }
  return { skills, incomplete };
}

/** `capabilities/discoverV2`'s skills: those of every skill root that is a directory. */
export async function discoverSkills(
  fs: ScanFs,
  roots: { id: string; dir: string }[],
): Promise<Pick<DiscoverV2Result, "skills" | "warnings">> {
  const skills: DiscoveredSkill[] = [];
  const warnings: string[] = [];
  for (const root of roots) {
    const isDir = await fs.isDirectory(root.dir).catch(() => false);
    if (!isDir) continue;
    const discoveryRoot = { id: root.id, path: toFileUri(root.dir) };
    const scanned = await scanSkillDir(fs, root.dir);
    if (scanned.incomplete) warnings.push(INCOMPLETE);
    for (const { dependencies, policy, ...named } of scanned.skills) {
      skills.push({ ...named, discoveryRoot, dependencies, policy });
    }
  }
  return { skills, warnings };
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

/**
 * `dependencies` and `policy` from a skill's `agents/openai.yaml`; both null when it is absent, not YAML
 * (silently, as 0.171), too big or not UTF-8 (`onProblem`).
 */
async function openaiYaml(
  fs: ScanFs,
  skillDir: string,
  onProblem: () => void,
): Promise<Pick<DiscoveredSkill, "dependencies" | "policy">> {
  const read = await readCapabilityFile(fs, join(skillDir, "agents/openai.yaml"));
  if ("problem" in read) onProblem();
  let doc: unknown = null;
  try {
    doc = "text" in read ? parseYaml(read.text) : null;
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
