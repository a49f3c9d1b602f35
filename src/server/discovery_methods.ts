/**
 * `capabilities/discoverV2`, `capabilityRoots/discoverV1` and `environmentConfig/read` (Codex 0.171).
 * A discovery's `sandbox` context is honoured as `fs/*` honours it (the same plan): run directly, or
 * under bubblewrap where only the granted paths exist (see discovery_jobs.ts).
 *
 * @module
 */
import type { FsOptions } from "./fs_handlers.ts";
import { DISCOVERY_HELPER_METHOD, type DiscoveryJob } from "./discovery_job.ts";
import { sandboxPlan } from "../sandbox/policy.ts";
import { runInSandbox } from "../sandbox/run_helper.ts";
import type { CapabilityRootResult, DiscoverV2Result } from "../protocol/capabilities.ts";
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
  // Directly, or (restricted sandbox) whole inside one helper, as fs/* decides from the same context.
  const run = async <R>(job: DiscoveryJob, sandbox: SandboxContext | null | undefined): Promise<R> => {
    const plan = sandboxPlan(sandbox);
    if (plan.kind === "direct") {
      // On first use: the scanners (and their YAML parser) are not loaded at start.
      const { localScanFs, runDiscoveryJob } = await import("./discovery_jobs.ts");
      return await runDiscoveryJob(job, localScanFs()) as R;
    }
    return await runInSandbox(DISCOVERY_HELPER_METHOD, job, plan, options) as R;
  };
  methods
    .register(CapabilitiesDiscoverV2, (params) => {
      const { home, codexHome } = homes();
      return run<DiscoverV2Result>({ kind: "skills", home, codexHome }, params.sandbox);
    })
    .register(CapabilityRootsDiscoverV1, async (params) => {
      const roots: CapabilityRootResult[] = [];
      for (const { id, path, sandbox } of params.roots) {
        const root = trimSlashes(parseAbsolutePath(path));
        roots.push(await run<CapabilityRootResult>({ kind: "root", id, uri: path, root }, sandbox));
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
