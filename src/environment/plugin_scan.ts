/**
 * The `plugins` of `capabilities/discoverV2`, as Codex 0.171 lists them: every installed plugin in
 * `$CODEX_HOME/plugins/cache/<marketplace>/<plugin>/<version>/`, enabled or not, by id
 * (`<plugin>@<marketplace>`). Hidden marketplace and plugin directories are skipped; of a plugin's
 * version directories the highest (numbers compared as numbers) is used. Its `.codex-plugin/plugin.json`
 * must be JSON; `name` (else the version directory's name) prefixes its skills (`name:skill`),
 * `interface.displayName` (else the name) is shown, and `skills` (a path or paths, default `skills`)
 * says where its SKILL.md files are. A plugin that cannot be read adds the general warning.
 *
 * @module
 */
import type { DiscoverV2Result } from "../protocol/capabilities.ts";
import { toFileUri } from "../protocol/paths.ts";
import { join, readCapabilityFile, type ScanFs } from "./capability_files.ts";
import { INCOMPLETE, type ParsedSkill, scanSkillDir } from "./skills_scan.ts";

type Plugin = DiscoverV2Result["plugins"][number];

async function subdirectories(fs: ScanFs, dir: string, hidden: boolean): Promise<string[]> {
  const entries = (await fs.listDirectory(dir)) ?? [];
  return entries.filter((e) => e.isDirectory && (hidden || !e.name.startsWith("."))).map((e) => e.name);
}

/** Version order: runs of digits compare as numbers, everything else as text. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => v.match(/\d+|\D+/g) ?? [];
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    const numeric = /^\d/.test(p) && /^\d/.test(q);
    const order = numeric ? Number(BigInt(p) - BigInt(q)) : p < q ? -1 : p > q ? 1 : 0;
    if (order !== 0) return Math.sign(order);
  }
  return x.length - y.length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The installed plugins under `codexHome`, and one warning for each that could not be fully read. */
export async function discoverPlugins(
  fs: ScanFs,
  codexHome: string | null,
): Promise<Pick<DiscoverV2Result, "plugins" | "warnings">> {
  const plugins: Plugin[] = [];
  const warnings: string[] = [];
  if (codexHome === null) return { plugins, warnings };
  const cache = join(codexHome, "plugins/cache");
  for (const marketplace of await subdirectories(fs, cache, false)) {
    for (const name of await subdirectories(fs, join(cache, marketplace), false)) {
      const dir = join(join(cache, marketplace), name);
      const versions = (await subdirectories(fs, dir, true)).sort(compareVersions);
      const version = versions.at(-1);
      const plugin = version === undefined
        ? null
        : await readPlugin(fs, `${name}@${marketplace}`, dir, version);
      if (plugin === null) {
        warnings.push(INCOMPLETE);
        continue;
      }
      if (plugin.incomplete) warnings.push(INCOMPLETE);
      plugins.push(plugin.plugin);
    }
  }
  plugins.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { plugins, warnings };
}

async function readPlugin(
  fs: ScanFs,
  id: string,
  dir: string,
  version: string,
): Promise<{ plugin: Plugin; incomplete: boolean } | null> {
  const root = join(dir, version);
  const manifestPath = join(root, ".codex-plugin/plugin.json");
  const read = await readCapabilityFile(fs, manifestPath);
  if (!("text" in read)) return null;
  let manifest: unknown;
  try {
    manifest = JSON.parse(read.text);
  } catch {
    return null;
  }
  if (!isRecord(manifest)) return null;
  const name = typeof manifest.name === "string" ? manifest.name : version;
  const face = isRecord(manifest.interface) ? manifest.interface : {};
  const displayName = typeof face.displayName === "string" ? face.displayName : name;
  const listed = typeof manifest.skills === "string"
    ? [manifest.skills]
    : Array.isArray(manifest.skills)
    ? manifest.skills.filter((p): p is string => typeof p === "string")
    : ["skills"];
  const skills: ParsedSkill[] = [];
  let incomplete = false;
  for (const relative of listed) {
    const skillDir = join(root, relative.replace(/^\.\//, "").replace(/\/+$/, ""));
    if (!(await fs.isDirectory(skillDir).catch(() => false))) continue;
    const scanned = await scanSkillDir(fs, skillDir);
    incomplete ||= scanned.incomplete;
    for (const skill of scanned.skills) skills.push({ ...skill, name: `${name}:${skill.name}` });
  }
  skills.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const optional = async (file: string) => {
    const outcome = await readCapabilityFile(fs, join(root, file));
    return "text" in outcome ? { path: toFileUri(join(root, file)), contents: outcome.text } : null;
  };
  return {
    plugin: {
      id,
      displayName,
      remotePluginId: null,
      version,
      root: toFileUri(root),
      files: {
        manifest: { path: toFileUri(manifestPath), contents: read.text },
        mcpConfig: await optional(".mcp.json"),
        appsConfig: await optional(".app.json"),
      },
      skills,
    },
    incomplete,
  };
}
