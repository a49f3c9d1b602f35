/**
 * The `sandbox` member of fs/* (and, as an extension we enforce, `process/start`): Codex's
 * `FileSystemSandboxContext` with its permission profile. Inner keys are snake_case, as on the wire.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { lazySchema } from "./schema.ts";

/** Network access of a profile. */
export const NetworkAccessSchema = lazySchema(() => z.enum(["restricted", "enabled"]));

/** A path an entry applies to: a special root, an absolute path, or a glob pattern. */
export const SandboxPathSchema = lazySchema(() =>
  z.union([
    z.object({ type: z.literal("special"), value: z.looseObject({ kind: z.string() }) }),
    z.object({ type: z.literal("path"), path: z.string() }),
    z.object({ type: z.literal("glob_pattern"), pattern: z.string() }),
  ])
);
export type SandboxPath = z.infer<typeof SandboxPathSchema>;

/** What an entry grants. `deny` masks the path. */
export const SandboxAccessSchema = lazySchema(() => z.enum(["read", "write", "deny", "none"]));
export type SandboxAccess = z.infer<typeof SandboxAccessSchema>;

/** One filesystem permission entry. */
export const SandboxEntrySchema = lazySchema(() =>
  z.object({
    path: SandboxPathSchema,
    access: SandboxAccessSchema,
    /** Codex 0.171: `skip` (the only value) leaves out an entry whose path does not exist; so do we always. */
    missing_path_behavior: z.nullish(z.enum(["skip"])),
  })
);
export type SandboxEntry = z.infer<typeof SandboxEntrySchema>;

/** The filesystem part of a managed profile. */
export const FileSystemPermissionsSchema = lazySchema(() =>
  z.union([
    z.object({ type: z.literal("unrestricted") }),
    z.object({
      type: z.literal("restricted"),
      entries: z.array(SandboxEntrySchema),
      glob_scan_max_depth: z.nullish(z.int().check(z.gte(0))),
    }),
  ])
);
export type FileSystemPermissions = z.infer<typeof FileSystemPermissionsSchema>;

/** Tagged permission profile. */
export const TaggedPermissionProfileSchema = lazySchema(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("disabled") }),
    z.object({ type: z.literal("external"), network: z.nullish(NetworkAccessSchema) }),
    z.object({
      type: z.literal("managed"),
      file_system: FileSystemPermissionsSchema,
      network: z.nullish(NetworkAccessSchema),
    }),
  ])
);

/** Legacy (untagged) profile; unknown keys are rejected, `{}` means "restricted, no entries". */
export const LegacyPermissionProfileSchema = lazySchema(() =>
  z.strictObject({
    network: z.nullish(z.strictObject({ enabled: z.boolean() })),
    file_system: z.nullish(z.union([
      z.strictObject({ read: z.nullish(z.array(z.string())), write: z.nullish(z.array(z.string())) }),
      z.strictObject({ entries: z.array(SandboxEntrySchema) }),
    ])),
  })
);

/** A permission profile in either form. */
export const PermissionProfileSchema = lazySchema(() =>
  z.union(
    [TaggedPermissionProfileSchema, LegacyPermissionProfileSchema],
    {
      error: "data did not match any variant of untagged enum PermissionProfileDe",
    },
  )
);
export type PermissionProfile = z.infer<typeof PermissionProfileSchema>;

/** `FileSystemSandboxContext` (camelCase outer keys). */
export const SandboxContextSchema = lazySchema(() =>
  z.object({
    permissions: PermissionProfileSchema,
    windowsSandboxLevel: z.enum(["disabled", "restricted-token", "elevated"]),
    cwd: z.nullish(z.string()),
    windowsSandboxPrivateDesktop: z.nullish(z.boolean()),
    useLegacyLandlock: z.nullish(z.boolean()),
    /** Codex 0.169+: every workspace root (`--add-dir` adds some); `project_roots` expands to each. */
    workspaceRoots: z.nullish(z.array(z.string())),
    /** Codex 0.169+: the policy's own cwd and roots; its roots win over `workspaceRoots`. */
    policyContext: z.nullish(
      z.object({ cwd: z.nullish(z.string()), workspaceRoots: z.nullish(z.array(z.string())) }),
    ),
    /** Codex 0.171: `$HOME` as the executor reported it (accepted; entries name paths explicitly). */
    userHomeDir: z.nullish(z.string()),
    /** Codex 0.171 (Windows only): accepted and ignored. */
    windowsSandboxProxySettingsMode: z.nullish(z.string()),
  })
);
export type SandboxContext = z.infer<typeof SandboxContextSchema>;
