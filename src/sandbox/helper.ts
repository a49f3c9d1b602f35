/**
 * The sandbox helper: this program re-invoked as `<self> __sandbox-helper` inside bubblewrap. It reads
 * one JSON request `{method, params}` from stdin, runs it with the handler its entry point passes in (the
 * CLI passes the `fs/*` one, `runFsRequest`), and writes `{result}` or `{error: {code, message}}` to
 * stdout.
 *
 * @module
 */
import { ErrorCode, type RpcErrorObject } from "../protocol/errors.ts";
import { toRpcError } from "../protocol/os_error.ts";

/** The hidden first argument that selects the helper. */
export const SANDBOX_HELPER_ARG = "__sandbox-helper";

/** One request to the helper. */
export interface SandboxHelperRequest {
  method: string;
  params: unknown;
}

/** The helper's answer on stdout. */
export type SandboxHelperResponse = { result: unknown } | { error: RpcErrorObject };

/**
 * Runs one request inside the sandbox. `method` and `params` are as read from JSON (unchecked); throws
 * `RpcError` (or an OS error) on failure.
 */
export type SandboxHelperHandler = (method: unknown, params: unknown) => Promise<unknown>;

/** Handles one request already parsed from JSON; never throws. */
export async function handleHelperRequest(
  request: unknown,
  handler: SandboxHelperHandler,
): Promise<SandboxHelperResponse> {
  try {
    const { method, params } = (request ?? {}) as Partial<SandboxHelperRequest>;
    return { result: await handler(method, params) };
  } catch (error) {
    const rpc = toRpcError(error);
    return { error: { code: rpc.code, message: rpc.message } };
  }
}

/**
 * Entry point for `__sandbox-helper`: one request on stdin, one response on stdout. Returns the exit
 * code (0 whenever a response was written, including error responses).
 */
export async function runSandboxHelper(handler: SandboxHelperHandler): Promise<number> {
  let response: SandboxHelperResponse;
  try {
    response = await handleHelperRequest(JSON.parse(await new Response(Deno.stdin.readable).text()), handler);
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
