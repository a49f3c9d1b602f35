/**
 * Codex 0.171's capability discovery (`capabilities/discoverV2`, `capabilityRoots/discoverV1`) and
 * `environmentConfig/read`. Their paths are strict `file:` URIs (a plain path is "invalid URI: relative
 * URL without a base"), checked while decoding, so a bad path is -32602 even before `initialize`.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { SandboxContextSchema } from "./sandbox.ts";
import { lazySchema } from "./schema.ts";

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** A `file:` URI; other schemes and plain paths fail with the reference's wording. */
export const FileUriSchema = lazySchema(() =>
  z.string().check(
    z.refine((s) => SCHEME.test(s), { error: "invalid URI: relative URL without a base" }),
    z.refine((s) => (SCHEME.exec(s)?.[1] ?? "file").toLowerCase() === "file", {
      error: (issue) =>
        `unsupported path URI scheme \`${SCHEME.exec(String(issue.input))?.[1].toLowerCase()}\``,
    }),
  )
);

/** A root's sandbox context: fs/*'s, under the reference's struct name. */
const sandbox = lazySchema(() =>
  z.nullish(z.object(SandboxContextSchema.shape, { error: "struct WireFileSystemSandboxContext" }))
);

/** `capabilities/discoverV2`'s sandbox context: as fs/*'s, but its `cwd` is a required `file:` URI. */
const discoverSandbox = lazySchema(() =>
  z.nullish(
    z.object({ ...SandboxContextSchema.shape, cwd: FileUriSchema }, {
      error: "struct FileSystemSandboxContext",
    }),
  )
);

export const DiscoverV2ParamsSchema = lazySchema(() =>
  z.object({ cwd: FileUriSchema, sandbox: discoverSandbox })
);
export type DiscoverV2Params = z.infer<typeof DiscoverV2ParamsSchema>;

/** Where a skill was found: `codex-home-skills` (`$CODEX_HOME/skills`) or `user-agent-skills`. */
export const DiscoveryRootSchema = lazySchema(() => z.object({ id: z.string(), path: z.string() }));

/** One tool a skill depends on (from its `agents/openai.yaml`). */
export const SkillToolDependencySchema = lazySchema(() =>
  z.object({
    type: z.string(),
    value: z.string(),
    description: z.nullable(z.string()),
    transport: z.nullable(z.string()),
    command: z.nullable(z.string()),
    url: z.nullable(z.string()),
    oauthCallbackPort: z.nullable(z.number()),
  })
);
export type SkillToolDependency = z.infer<typeof SkillToolDependencySchema>;

export const SkillPolicySchema = lazySchema(() =>
  z.object({ allowImplicitInvocation: z.nullable(z.boolean()), products: z.array(z.string()) })
);
export type SkillPolicy = z.infer<typeof SkillPolicySchema>;

export const DiscoveredSkillSchema = lazySchema(() =>
  z.object({
    name: z.string(),
    description: z.string(),
    shortDescription: z.nullable(z.string()),
    path: z.string(),
    discoveryRoot: DiscoveryRootSchema,
    dependencies: z.nullable(z.object({ tools: z.array(SkillToolDependencySchema) })),
    policy: z.nullable(SkillPolicySchema),
  })
);
export type DiscoveredSkill = z.infer<typeof DiscoveredSkillSchema>;

/** An installed plugin: its files and its skills (named `plugin:skill`). */
export const DiscoveredPluginSchema = lazySchema(() =>
  z.object({
    id: z.string(),
    displayName: z.string(),
    remotePluginId: z.nullable(z.string()),
    version: z.string(),
    root: z.string(),
    files: z.object({
      manifest: CapabilityFileSchema,
      mcpConfig: z.nullable(CapabilityFileSchema),
      appsConfig: z.nullable(CapabilityFileSchema),
    }),
    skills: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        shortDescription: z.nullable(z.string()),
        path: z.string(),
        dependencies: z.nullable(z.object({ tools: z.array(SkillToolDependencySchema) })),
        policy: z.nullable(SkillPolicySchema),
      }),
    ),
  })
);

export const DiscoverV2ResultSchema = lazySchema(() =>
  z.object({
    plugins: z.array(DiscoveredPluginSchema),
    skills: z.array(DiscoveredSkillSchema),
    warnings: z.array(z.string()),
  })
);
export type DiscoverV2Result = z.infer<typeof DiscoverV2ResultSchema>;

export const CapabilityRootRequestSchema = lazySchema(() =>
  z.object({ id: z.string(), path: FileUriSchema, sandbox }, {
    error: "struct WireCapabilityRootDiscoverRequest",
  })
);
export type CapabilityRootRequest = z.infer<typeof CapabilityRootRequestSchema>;
export const CapabilityRootsParamsSchema = lazySchema(() =>
  z.object({ roots: z.array(CapabilityRootRequestSchema) })
);
export type CapabilityRootsParams = z.infer<typeof CapabilityRootsParamsSchema>;

/** A file read during discovery: its URI and its text. */
export const CapabilityFileSchema = lazySchema(() => z.object({ path: z.string(), contents: z.string() }));
export type CapabilityFile = z.infer<typeof CapabilityFileSchema>;

export const CapabilityRootResultSchema = lazySchema(() =>
  z.object({
    id: z.string(),
    path: z.string(),
    plugin: z.nullable(
      z.object({
        manifest: z.nullable(CapabilityFileSchema),
        mcpConfig: z.nullable(CapabilityFileSchema),
        appsConfig: z.nullable(CapabilityFileSchema),
      }),
    ),
    skills: z.array(
      z.object({ instructions: CapabilityFileSchema, metadata: z.nullable(CapabilityFileSchema) }),
    ),
    namespaceManifests: z.array(CapabilityFileSchema),
    warnings: z.array(z.string()),
    error: z.nullable(z.string()),
  })
);
export type CapabilityRootResult = z.infer<typeof CapabilityRootResultSchema>;
export const CapabilityRootsResultSchema = lazySchema(() =>
  z.object({ roots: z.array(CapabilityRootResultSchema) })
);
export type CapabilityRootsResult = z.infer<typeof CapabilityRootsResultSchema>;

export const EnvironmentConfigReadParamsSchema = lazySchema(() =>
  z.object({
    cwd: FileUriSchema,
    /** Key paths into `config.toml` (`[["mcp_servers"]]`); only these are returned. */
    configPaths: z.array(z.array(z.string())),
    requirementsPaths: z.array(z.array(z.string())),
  })
);
export type EnvironmentConfigReadParams = z.infer<typeof EnvironmentConfigReadParamsSchema>;

/** One config layer: where it came from and the selected keys re-serialised as TOML. */
export const ConfigLayerSchema = lazySchema(() =>
  z.object({ source: z.string(), baseDir: z.string(), toml: z.string() })
);
export type ConfigLayer = z.infer<typeof ConfigLayerSchema>;
export const ConfigLayersSchema = lazySchema(() =>
  z.object({ layers: z.array(ConfigLayerSchema), cloudInsertionIndex: z.number() })
);

export const EnvironmentConfigReadResultSchema = lazySchema(() =>
  z.object({
    userHomeDir: z.nullable(z.string()),
    codexHomeDir: z.nullable(z.string()),
    hostname: z.nullable(z.string()),
    config: ConfigLayersSchema,
    requirements: ConfigLayersSchema,
  })
);
export type EnvironmentConfigReadResult = z.infer<typeof EnvironmentConfigReadResultSchema>;
