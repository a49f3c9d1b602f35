/** `environment/info`. @module */
import { z } from "zod";

/** Stable short shell names. */
export const ShellNameSchema = z.string();

export const EnvironmentInfoResultSchema = z.object({
  /** The user's login shell from the passwd database. */
  shell: z.object({ name: ShellNameSchema, path: z.string() }),
});
export type EnvironmentInfoResult = z.infer<typeof EnvironmentInfoResultSchema>;
