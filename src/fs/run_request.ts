/**
 * One `fs/*` request as the sandbox helper runs it inside bubblewrap: the method and params arrive as
 * JSON, so both are checked here before the direct handler runs (the sandbox is the mount namespace the
 * helper runs in, so the handler itself runs without one).
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import { REQUESTS } from "../protocol/methods.ts";
import { localFsHandlers } from "./local.ts";
import { FS_METHODS, type FsMethod } from "./types.ts";

/** Runs `method` with `params` directly; throws `RpcError` (or an OS error) on failure. */
export async function runFsRequest(method: unknown, params: unknown): Promise<unknown> {
  if (typeof method !== "string" || !FS_METHODS.includes(method as FsMethod)) {
    throw RpcError.invalidRequest(`sandbox helper does not handle \`${String(method)}\``);
  }
  const parsed = REQUESTS[method].params.safeParse(params);
  if (!parsed.success) {
    throw RpcError.invalidParams(`invalid params for ${method}: ${parsed.error.message}`);
  }
  // Drop `sandbox`: we are inside it; running the handler must not spawn another helper.
  const handler = localFsHandlers[method as FsMethod] as (p: unknown) => Promise<unknown>;
  return await handler({ ...(parsed.data as object), sandbox: null });
}
