/**
 * Asserting a JSON-RPC error: thrown by a handler (`RpcError`) or answered to a test peer (`ReplyError`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { RpcError } from "../../src/protocol/errors.ts";
import { ReplyError } from "./rpc_peer.ts";

/** Asserts that `promise` rejects with a JSON-RPC error of `code` whose message is or matches `message`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: number,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof RpcError || error instanceof ReplyError,
      `expected a JSON-RPC error, got ${error}`,
    );
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}
