/**
 * The `fs/*` handler table the server dispatches to. Each call decides from its `sandbox` member whether
 * it runs directly (the fs room's handlers) or in the bubblewrap-enforced helper (the sandbox room's);
 * the server composes the two, so neither imports the other.
 *
 * @module
 */
import { sandboxPlan } from "../sandbox/policy.ts";
import { runInSandbox } from "../sandbox/run_helper.ts";
import type { FsReadFileParams, FsReadFileResult } from "../protocol/fs.ts";
import { localFsHandlers } from "../fs/local.ts";
import { type ReadFileParts, readFileParts as localReadFileParts } from "../fs/read_file.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { canonicalParent } from "../util/absolute_path.ts";
import { FS_METHODS, type FsHandlers, type FsMethod } from "../fs/types.ts";

/** Options for {@link createFsHandlers}. */
export interface FsOptions {
  /**
   * The bubblewrap binary for restricted sandbox requests: an absolute path, or a name looked up on
   * `PATH`. Default `"bwrap"`. When it cannot be found, restricted requests are refused (never run
   * unsandboxed).
   */
  bwrap?: string;
  /**
   * The argv prefix that re-runs this program (default `selfCommand()`); the sandbox helper runs as
   * `<prefix> __sandbox-helper`.
   */
  helperCommand?: () => string[];
}

/** Path members of `fs/*` params. */
const PATH_KEYS = ["path", "sourcePath", "destinationPath"] as const;

/**
 * Builds the handlers for every `fs/*` method. Params must already be validated against the method's
 * schema; handlers throw `RpcError`.
 */
export function createFsHandlers(
  options: FsOptions = {},
): FsHandlers & { readFileParts(params: FsReadFileParams): Promise<ReadFileParts> } {
  const handlers: Partial<Record<FsMethod, (params: never) => Promise<unknown>>> = {};
  for (const method of FS_METHODS) {
    const direct = localFsHandlers[method] as (params: unknown) => Promise<unknown>;
    handlers[method] = async (params: Record<string, unknown>) => {
      // Path errors first, so a bad path reads the same with or without a sandbox.
      const paths = Object.fromEntries(
        PATH_KEYS.filter((k) => typeof params[k] === "string").map((
          k,
        ) => [k, parseAbsolutePath(params[k] as string)]),
      );
      const plan = sandboxPlan(params.sandbox as Parameters<typeof sandboxPlan>[0]);
      if (plan.kind === "direct") return await direct(params);
      // Canonical paths (parent resolved, last component kept) agree with the canonical mounts, and the
      // helper sees exactly what the mounts allow.
      const canonical = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, canonicalParent(p)]));
      return await runInSandbox(method, { ...params, ...canonical, sandbox: null }, plan, options);
    };
  }
  const readFile = handlers["fs/readFile"]!;
  const readFileParts = async (params: FsReadFileParams): Promise<ReadFileParts> => {
    if (sandboxPlan(params.sandbox).kind === "direct") {
      parseAbsolutePath(params.path);
      return await localReadFileParts(params);
    }
    const { dataBase64, ...rest } = (await readFile(params as never)) as FsReadFileResult;
    return { parts: [dataBase64], ...rest };
  };
  return Object.assign(handlers as unknown as FsHandlers, { readFileParts });
}
