/** `environment/info`. @module */
import * as z from "zod/mini";
import { lazySchema } from "./schema.ts";

/** Stable short shell names. */
export const ShellNameSchema = lazySchema(() => z.string());

export const EnvironmentInfoResultSchema = lazySchema(() =>
  z.object({
    /** The user's login shell from the passwd database. */
    shell: z.object({ name: ShellNameSchema, path: z.string() }),
  })
);
export type EnvironmentInfoResult = z.infer<typeof EnvironmentInfoResultSchema>;
