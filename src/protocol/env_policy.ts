/** The `envPolicy` member of `process/start` (all five members required when present). @module */
import * as z from "../util/zod.ts";
import { lazySchema } from "./schema.ts";

/** Where the child environment starts: the server's whole environment, its core variables, or nothing. */
export const EnvInheritSchema = lazySchema(() => z.enum(["core", "all", "none"]));
export type EnvInherit = z.infer<typeof EnvInheritSchema>;

/** Codex's shell environment policy, sent verbatim as `envPolicy`. */
export const EnvPolicySchema = lazySchema(() =>
  z.object({
    inherit: EnvInheritSchema,
    ignoreDefaultExcludes: z.boolean(),
    exclude: z.array(z.string()),
    set: z.record(z.string(), z.string()),
    includeOnly: z.array(z.string()),
  })
);
export type EnvPolicy = z.infer<typeof EnvPolicySchema>;
