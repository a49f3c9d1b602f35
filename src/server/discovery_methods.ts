/**
 * `capabilities/discoverV2`, `capabilityRoots/discoverV1` and `environmentConfig/read` (Codex 0.171).
 * Discovery reads files through the `fs/*` handler table, so a `sandbox` context is honoured exactly as
 * `fs/*` honours it: run directly, or under bubblewrap where only the granted paths exist.
 *
 * @module
 */
import { createFsHandlers, type FsOptions } from "./fs_handlers.ts";
import { discoverSkills, skillRoots } from "../environment/skills_scan.ts";
import { scanCapabilityRoot } from "../environment/capability_roots.ts";
import { discoverPlugins } from "../environment/plugin_scan.ts";
import type { ScanFs } from "../environment/capability_files.ts";
import { checkConfigPaths, readConfigLayers, readRequirementsLayers } from "../config/codex_config_read.ts";
import type { SandboxContext } from "../protocol/sandbox.ts";
import {
  CapabilitiesDiscoverV2,
  CapabilityRootsDiscoverV1,
  EnvironmentConfigRead,
} from "../protocol/methods.ts";
import { parseAbsolutePath, toFileUri } from "../protocol/paths.ts";
import type { MethodTable } from "./method_table.ts";

/** The executor's `$HOME` and `$CODEX_HOME` (default `$HOME/.codex`), read per request. */
function homes(): { home: string | null; codexHome: string | null } {
  const home = Deno.env.get("HOME") || null;
  const codexHome = Deno.env.get("CODEX_HOME") ||
    (home === null ? null : `${home.replace(/\/+$/, "")}/.codex`);
  return { home, codexHome };
}

function trimSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** Registers the discovery and environment-config methods. */
export function registerDiscoveryMethods(methods: MethodTable, options: FsOptions = {}): void {
  const fs = createFsHandlers(options);
  const scanFs = (sandbox: SandboxContext | null | undefined): ScanFs => ({
    isDirectory: async (path) => (await fs["fs/getMetadata"]({ path, sandbox })).isDirectory,
    listFiles: async (root, { maxDepth, maxDirectories }) => {
      const walked = await fs["fs/walk"]({
        path: root,
        options: { maxDepth, maxDirectories, maxEntries: 50_000, followDirectorySymlinks: true },
        sandbox,
      });
      const files = walked.entries.filter((e) => e.kind === "file").map((e) => parseAbsolutePath(e.path));
      return { files, truncated: walked.truncated };
    },
    listDirectory: async (path) => {
      try {
        const { entries } = await fs["fs/readDirectory"]({ path, sandbox });
        return entries.map((e) => ({ name: e.fileName, isDirectory: e.isDirectory }));
      } catch {
        return null;
      }
    },
    readBytes: async (path, maxBytes) => {
      try {
        const { dataBase64 } = await fs["fs/readFile"]({ path, sandbox, offset: 0, length: maxBytes });
        return Uint8Array.fromBase64(dataBase64);
      } catch {
        return null;
      }
    },
  });
  methods
    .register(CapabilitiesDiscoverV2, async (params) => {
      const { home, codexHome } = homes();
      const fs = scanFs(params.sandbox);
      const skills = await discoverSkills(fs, skillRoots(home, codexHome));
      const plugins = await discoverPlugins(fs, codexHome);
      return {
        plugins: plugins.plugins,
        skills: skills.skills,
        warnings: [...skills.warnings, ...plugins.warnings],
      };
    })
    .register(CapabilityRootsDiscoverV1, async (params) => {
      const roots = [];
      for (const root of params.roots) {
        const native = trimSlashes(parseAbsolutePath(root.path));
        roots.push(await scanCapabilityRoot(scanFs(root.sandbox), root.id, root.path, native));
      }
      return { roots };
    })
    .register(EnvironmentConfigRead, async (params) => {
      checkConfigPaths(params);
      const { home, codexHome } = homes();
      let hostname: string | null = null;
      try {
        hostname = Deno.hostname();
      } catch {
        // No --allow-sys.
      }
      const config = await readConfigLayers(codexHome, params.configPaths);
      return {
        userHomeDir: home === null ? null : toFileUri(home),
        codexHomeDir: codexHome === null ? null : toFileUri(codexHome),
        hostname,
        config,
        requirements: await readRequirementsLayers(params.requirementsPaths),
      };
    });
}
