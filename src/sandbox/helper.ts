/**
 * The sandbox helper: this program re-invoked as `<self> __sandbox-helper` inside bubblewrap. It reads
 * one JSON request `{method, params}` from stdin, runs the same `fs/*` handler the server runs directly,
 * and writes `{result}` or `{error: {code, message}}` to stdout. The sandbox is the mount namespace it
 * runs in, so the handler itself runs without one.
 *
 * @module
 */
import { ErrorCode, RpcError, type RpcErrorObject } from "../protocol/errors.ts";
import { REQUESTS } from "../protocol/methods.ts";
import { toRpcError } from "../fs/os_error.ts";
import { localFsHandlers } from "../fs/local.ts";
import { FS_METHODS, type FsMethod } from "../fs/types.ts";

/** The hidden first argument that selects the helper. */
export const SANDBOX_HELPER_ARG = "__sandbox-helper";

/** One request to the helper. */
export interface SandboxHelperRequest {
  method: FsMethod;
  params: unknown;
}

/** The helper's answer on stdout. */
export type SandboxHelperResponse = { result: unknown } | { error: RpcErrorObject };

/** Handles one request already parsed from JSON; never throws. */
export async function handleHelperRequest(request: unknown): Promise<SandboxHelperResponse> {
  try {
    const { method, params } = (request ?? {}) as Partial<SandboxHelperRequest>;
    if (typeof method !== "string" || !FS_METHODS.includes(method as FsMethod)) {
      throw RpcError.invalidRequest(`sandbox helper does not handle \`${String(method)}\``);
    }
    const parsed = REQUESTS[method].params.safeParse(params);
    if (!parsed.success) {
      throw RpcError.invalidParams(`invalid params for ${method}: ${parsed.error.message}`);
    }
    // Drop `sandbox`: we are inside it; running the handler must not spawn another helper.
    const handler = localFsHandlers[method as FsMethod] as (p: unknown) => Promise<unknown>;
    return { result: await handler({ ...(parsed.data as object), sandbox: null }) };
  } catch (error) {
    const rpc = toRpcError(error);
    return { error: { code: rpc.code, message: rpc.message } };
  }
}

/**
 * Entry point for `__sandbox-helper`: one request on stdin, one response on stdout. Returns the exit
 * code (0 whenever a response was written, including error responses).
 */
export async function runSandboxHelper(): Promise<number> {
  let response: SandboxHelperResponse;
  try {
    response = await handleHelperRequest(JSON.parse(await new Response(Deno.stdin.readable).text()));
  } catch (error) {
    response = {
      error: {
        code: ErrorCode.InvalidRequest,
        message: `sandbox helper could not read its request: ${error}`,
      },
    };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(response));
  for (let done = 0; done < bytes.length;) done += await Deno.stdout.write(bytes.subarray(done));
  return 0;
}
