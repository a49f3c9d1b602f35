import assert from "node:assert/strict";
import { errnoToRpcError, osErrorMessage, toRpcError } from "../src/protocol/os_error.ts";
import { ErrorCode, RpcError } from "../src/protocol/errors.ts";

Deno.test("fs/os_error uses the Rust io::Error display text", () => {
  assert.equal(osErrorMessage(2), "No such file or directory (os error 2)");
  assert.equal(osErrorMessage(21), "Is a directory (os error 21)");
  assert.equal(osErrorMessage(39), "Directory not empty (os error 39)");
  assert.equal(osErrorMessage(17), "File exists (os error 17)");
  assert.equal(osErrorMessage(20), "Not a directory (os error 20)");
  assert.equal(osErrorMessage(30), "Read-only file system (os error 30)");
  assert.equal(osErrorMessage(13), "Permission denied (os error 13)");
});

Deno.test("fs/os_error maps NotFound to -32004, permission and invalid input to -32600, the rest to -32603", () => {
  assert.equal(errnoToRpcError(2).code, ErrorCode.NotFound);
  assert.equal(errnoToRpcError(13).code, ErrorCode.InvalidRequest);
  assert.equal(errnoToRpcError(1).code, ErrorCode.InvalidRequest);
  assert.equal(errnoToRpcError(22).code, ErrorCode.InvalidRequest);
  for (const errno of [17, 20, 21, 30, 39]) {
    assert.equal(errnoToRpcError(errno).code, ErrorCode.InternalError);
  }
});

Deno.test("fs/os_error strips Deno's context from real errors", async () => {
  const error = await Deno.readFile("/nonexistent/exec-server").catch((e) => e);
  const rpc = toRpcError(error);
  assert.equal(rpc.code, ErrorCode.NotFound);
  assert.equal(rpc.message, "No such file or directory (os error 2)");
  const denied = toRpcError(new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/x'"));
  assert.deepEqual([denied.code, denied.message], [
    ErrorCode.InvalidRequest,
    "Permission denied (os error 13)",
  ]);
  const nul = toRpcError(await Deno.stat("/a\0b").catch((e) => e));
  assert.deepEqual([nul.code, nul.message], [
    ErrorCode.InvalidRequest,
    "file name contained an unexpected NUL byte",
  ]);
  const passthrough = new RpcError(-32600, "x");
  assert.equal(toRpcError(passthrough), passthrough);
});

Deno.test("EMFILE and ENFILE say the server is out of file descriptors", () => {
  assert.match(
    toRpcError(new Error("Too many open files (os error 24)")).message,
    /^Too many open files \(os error 24\): too many open files on the server/,
  );
  assert.match(
    osErrorMessage(23),
    /^Too many open files in system \(os error 23\): too many open files on the server's host/,
  );
});
