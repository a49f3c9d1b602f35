/**
 * The `sandbox` member of fs/* (and, as an extension we enforce, `process/start`): Codex's
 * `FileSystemSandboxContext` with its permission profile. Inner keys are snake_case, as on the wire.
 *
 * @module
 */
import { z } from "zod";

/** Network access of a profile. */
export const NetworkAccessSchema = z.enum(["restricted", "enabled"]);

/** A path an entry applies to: a special root, an absolute path, or a glob pattern. */
export const SandboxPathSchema = z.union([
  z.object({ type: z.literal("special"), value: z.looseObject({ kind: z.string() }) }),
  z.object({ type: z.literal("path"), path: z.string() }),
  z.object({ type: z.literal("glob_pattern"), pattern: z.string() }),
]);
export type SandboxPath = z.infer<typeof SandboxPathSchema>;

/** What an entry grants. `deny` masks the path. */
export const SandboxAccessSchema = z.enum(["read", "write", "deny", "none"]);
export type SandboxAccess = z.infer<typeof SandboxAccessSchema>;

/** One filesystem permission entry. */
export const SandboxEntrySchema = z.object({ path: SandboxPathSchema, access: SandboxAccessSchema });
export type SandboxEntry = z.infer<typeof SandboxEntrySchema>;

/** The filesystem part of a managed profile. */
export const FileSystemPermissionsSchema = z.union([
  z.object({ type: z.literal("unrestricted") }),
  z.object({
    type: z.literal("restricted"),
    entries: z.array(SandboxEntrySchema),
    glob_scan_max_depth: z.number().int().nonnegative().nullish(),
  }),
]);
export type FileSystemPermissions = z.infer<typeof FileSystemPermissionsSchema>;

/** Tagged permission profile. */
export const TaggedPermissionProfileSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("disabled") }),
  z.object({ type: z.literal("external"), network: NetworkAccessSchema.nullish() }),
  z.object({
    type: z.literal("managed"),
    file_system: FileSystemPermissionsSchema,
    network: NetworkAccessSchema.nullish(),
  }),
]);

/** Legacy (untagged) profile; unknown keys are rejected, `{}` means "restricted, no entries". */
export const LegacyPermissionProfileSchema = z.strictObject({
  network: z.strictObject({ enabled: z.boolean() }).nullish(),
  file_system: z.union([
    z.strictObject({ read: z.array(z.string()).nullish(), write: z.array(z.string()).nullish() }),
    z.strictObject({ entries: z.array(SandboxEntrySchema) }),
  ]).nullish(),
});

/** A permission profile in either form. */
export const PermissionProfileSchema = z.union(
  [TaggedPermissionProfileSchema, LegacyPermissionProfileSchema],
  {
    error: "data did not match any variant of untagged enum PermissionProfileDe",
  },
);
export type PermissionProfile = z.infer<typeof PermissionProfileSchema>;

/** `FileSystemSandboxContext` (camelCase outer keys). */
export const SandboxContextSchema = z.object({
  permissions: PermissionProfileSchema,
  windowsSandboxLevel: z.enum(["disabled", "restricted-token", "elevated"]),
  cwd: z.string().nullish(),
  windowsSandboxPrivateDesktop: z.boolean().nullish(),
  useLegacyLandlock: z.boolean().nullish(),
});
export type SandboxContext = z.infer<typeof SandboxContextSchema>;
