/**
 * `capabilityRoots/discoverV1` for one root, as Codex 0.171 answers it: the raw `{path, contents}` of
 * the root's plugin (`.codex-plugin/plugin.json`, then `.mcp.json` and `.app.json`), its namespace
 * manifests (the nearest valid manifest above a root without a valid one of its own, then every
 * `.codex-plugin/plugin.json` inside the root) and every SKILL.md with its `agents/openai.yaml`, in path
 * order and in that sequence. A file that is too big or not UTF-8 is left out with a warning.
 *
 * @module
 */
import type { CapabilityFile, CapabilityRootResult } from "../protocol/capabilities.ts";
import { toFileUri } from "../protocol/paths.ts";
import { basename, join, parent, readCapabilityFile, scanFiles, type ScanFs } from "./capability_files.ts";

const MANIFEST = ".codex-plugin/plugin.json";

/**
 * Scans one root: `uri` as the client sent it, `root` its native path. A root that cannot be inspected
 * or is not a directory is reported in `error`, with empty lists.
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
  const read = async (path: string): Promise<CapabilityFile | null> => {
    const outcome = await readCapabilityFile(fs, path);
    if ("problem" in outcome) result.warnings.push(`capability file ${toFileUri(path)} ${outcome.problem}`);
    return "text" in outcome ? { path: toFileUri(path), contents: outcome.text } : null;
  };

  const manifest = await read(join(root, MANIFEST));
  if (manifest !== null) {
    result.plugin = {
      manifest,
      mcpConfig: await read(join(root, ".mcp.json")),
      appsConfig: await read(join(root, ".app.json")),
    };
  } else {
    for (let dir = parent(root); dir !== root; dir = parent(dir)) {
      const found = await read(join(dir, MANIFEST));
      if (found !== null) {
        result.namespaceManifests.push(found);
        break;
      }
      if (dir === "/") break;
    }
  }

  const { files, truncated } = await scanFiles(fs, root);
  if (truncated) result.warnings.push(`capability scan reached its traversal limit (root: ${uri})`);
  for (const file of files.filter((f) => f.endsWith(`/${MANIFEST}`))) {
    const found = await read(file);
    // Listed once even when the nearest one above is also inside the root (a root in `.codex-plugin`).
    if (found !== null && !result.namespaceManifests.some((m) => m.path === found.path)) {
      result.namespaceManifests.push(found);
    }
  }
  for (const file of files.filter((f) => basename(f) === "SKILL.md")) {
    const instructions = await read(file);
    if (instructions === null) continue;
    result.skills.push({ instructions, metadata: await read(join(parent(file), "agents/openai.yaml")) });
  }
  return result;
}
