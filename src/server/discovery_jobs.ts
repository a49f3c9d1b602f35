/**
 * Capability discovery as one job: the skills and plugins of `capabilities/discoverV2`, or one root of
 * `capabilityRoots/discoverV1`. A job runs directly on the local filesystem or, for a restricted sandbox,
 * whole inside one bubblewrap helper (`<self> __sandbox-helper`, method {@link DISCOVERY_HELPER_METHOD}),
 * so a scan of many files costs one helper start, not one per file.
 *
 * @module
 */
import type { ScanFs } from "../environment/capability_files.ts";
import { scanCapabilityRoot } from "../environment/capability_roots.ts";
import { discoverPlugins } from "../environment/plugin_scan.ts";
import { discoverSkills, skillRoots } from "../environment/skills_scan.ts";
import { localFsHandlers } from "../fs/local.ts";
import { RpcError } from "../protocol/errors.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";

import { DISCOVERY_HELPER_METHOD, type DiscoveryJob } from "./discovery_job.ts";
export { DISCOVERY_HELPER_METHOD, type DiscoveryJob } from "./discovery_job.ts";

/** The local filesystem as discovery reads it, through the fs room's direct handlers. */
export function localScanFs(): ScanFs {
  return {
    isDirectory: async (path) => (await localFsHandlers["fs/getMetadata"]({ path })).isDirectory,
    listFiles: async (root, { maxDepth, maxDirectories }) => {
      const walked = await localFsHandlers["fs/walk"]({
        path: root,
        options: { maxDepth, maxDirectories, maxEntries: 50_000, followDirectorySymlinks: true },
      });
      const files = walked.entries.filter((e) => e.kind === "file").map((e) => parseAbsolutePath(e.path));
      return { files, truncated: walked.truncated };
    },
    listDirectory: async (path) => {
      try {
        const { entries } = await localFsHandlers["fs/readDirectory"]({ path });
        return entries.map((e) => ({ name: e.fileName, isDirectory: e.isDirectory }));
      } catch {
        return null;
      }
    },
    readBytes: async (path, maxBytes) => {
      try {
        const { dataBase64 } = await localFsHandlers["fs/readFile"]({ path, offset: 0, length: maxBytes });
        return Uint8Array.fromBase64(dataBase64);
      } catch {
        return null;
      }
    },
  };
}

/** Runs `job` against `fs`. */
export async function runDiscoveryJob(job: DiscoveryJob, fs: ScanFs): Promise<unknown> {
  if (job.kind === "root") return await scanCapabilityRoot(fs, job.id, job.uri, job.root);
  const skills = await discoverSkills(fs, skillRoots(job.home, job.codexHome));
  const plugins = await discoverPlugins(fs, job.codexHome);
  return {
    plugins: plugins.plugins,
    skills: skills.skills,
    warnings: [...skills.warnings, ...plugins.warnings],
  };
}

const text = (v: unknown) => typeof v === "string";
const textOrNull = (v: unknown) => v === null || typeof v === "string";

/** The helper's side: checks the job read from JSON, then runs it on the (sandboxed) local filesystem. */
export async function runDiscoveryHelperRequest(params: unknown): Promise<unknown> {
  const job = (params ?? {}) as Record<string, unknown>;
  const valid = job.kind === "skills"
    ? textOrNull(job.home) && textOrNull(job.codexHome)
    : job.kind === "root" && text(job.id) && text(job.uri) && text(job.root);
  if (!valid) throw RpcError.invalidParams(`invalid params for ${DISCOVERY_HELPER_METHOD}`);
  return await runDiscoveryJob(job as DiscoveryJob, localScanFs());
}
