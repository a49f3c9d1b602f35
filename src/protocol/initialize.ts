/** `initialize` and `initialized`: the per-connection handshake. @module */
import * as z from "../util/zod.ts";
import { EnvironmentInfoResultSchema } from "./environment.ts";
import { lazySchema, optional } from "./schema.ts";

/** Params of `initialize`. A `resumeSessionId` re-attaches a detached session. */
export const InitializeParamsSchema = lazySchema(() =>
  z.object({
    clientName: z.string(),
    resumeSessionId: optional(z.string()),
  })
);
export type InitializeParams = z.infer<typeof InitializeParamsSchema>;

/**
 * Result of `initialize`: the (new or resumed) session id, a UUID v4, and (Codex 0.169+, and ours) the
 * executor's `environmentInfo`, the same object `environment/info` returns.
 */
export const InitializeResultSchema = lazySchema(() =>
  z.object({ sessionId: z.string(), environmentInfo: z.optional(EnvironmentInfoResultSchema) })
);
export type InitializeResult = z.infer<typeof InitializeResultSchema>;
