/** `environment/info`, `environment/status` and the `environmentInfo` of `initialize`. @module */
import * as z from "../util/zod.ts";
import { lazySchema } from "./schema.ts";

/** Stable short shell names. */
export const ShellNameSchema = lazySchema(() => z.string());

/**
 * What the executor can do, as Codex 0.171 names it. A client treats a missing or false flag as "do not
 * use": a server advertises only what it implements. Unknown flags pass through.
 */
export const EnvironmentCapabilitiesSchema = lazySchema(() =>
  z.catchall(
    z.object({
      networkProxyLaunch: z.optional(z.boolean()),
      networkProxyReviewDomains: z.optional(z.boolean()),
      networkProxyTransparentTcp: z.optional(z.boolean()),
      credentialMasking: z.optional(z.boolean()),
      credentialMaskingCustomProviders: z.optional(z.boolean()),
      capabilityDiscoverySandbox: z.optional(z.boolean()),
      fsWatchMissing: z.optional(z.boolean()),
      capabilityDiscoveryV2: z.optional(z.boolean()),
      environmentConfigRead: z.optional(z.boolean()),
      httpHeaderEnvVars: z.optional(z.boolean()),
      sandboxedFileStreaming: z.optional(z.boolean()),
      fileWriteStreaming: z.optional(z.boolean()),
      shellSnapshotV2: z.optional(z.boolean()),
      windowsMxc: z.optional(z.boolean()),
      linuxRootWritePreservesDevices: z.optional(z.boolean()),
      linuxApprovedRootWritePreservesRestrictions: z.optional(z.boolean()),
    }),
    z.unknown(),
  )
);
export type EnvironmentCapabilities = z.infer<typeof EnvironmentCapabilitiesSchema>;

/**
 * `environment/info`'s result. Codex 0.140 servers send only `shell`; 0.169+ send the rest (every path
 * a `file://` URI), the same object as `initialize`'s `environmentInfo`.
 */
export const EnvironmentInfoResultSchema = lazySchema(() =>
  z.object({
    /** The user's login shell from the passwd database. */
    shell: z.object({ name: ShellNameSchema, path: z.string() }),
    /** The server's version. */
    executorVersion: z.optional(z.string()),
    /** `sha256:<hex>`: stable for one host and user, so a client can tell executors apart. */
    providerId: z.optional(z.string()),
    /** The server's working directory. */
    cwd: z.optional(z.string()),
    /** `$HOME` of the server. */
    userHomeDir: z.optional(z.string()),
    /** `linux`, `macos`, `windows`. */
    platformOs: z.optional(z.string()),
    /** Directories the server puts first on a child's `PATH`. */
    prependPathDirs: z.optional(z.array(z.string())),
    temporaryDirectories: z.optional(z.array(z.string())),
    tempDir: z.optional(z.string()),
    capabilities: z.optional(EnvironmentCapabilitiesSchema),
  })
);
export type EnvironmentInfoResult = z.infer<typeof EnvironmentInfoResultSchema>;

/** `environment/status`'s result: `ready` once the executor can serve. */
export const EnvironmentStatusResultSchema = lazySchema(() => z.object({ status: z.string() }));
export type EnvironmentStatusResult = z.infer<typeof EnvironmentStatusResultSchema>;
