import assert from "node:assert/strict";
import { parseAbsolutePath, toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode, RpcError } from "../src/protocol/errors.ts";

function rpcErrorOf(fn: () => unknown): RpcError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RpcError);
    return error;
  }
  assert.fail("expected an RpcError");
}

Deno.test("fs/paths accepts absolute native paths unchanged, including `..`", () => {
  assert.equal(parseAbsolutePath("/srv/data/a.txt"), "/srv/data/a.txt");
  assert.equal(parseAbsolutePath("/srv/../etc/x"), "/srv/../etc/x");
  assert.equal(parseAbsolutePath("//tmp"), "//tmp");
  assert.equal(parseAbsolutePath("/sp ace/%20"), "/sp ace/%20");
});

Deno.test("fs/paths accepts the three file URI forms", () => {
  assert.equal(parseAbsolutePath("file:///srv/a.txt"), "/srv/a.txt");
  assert.equal(parseAbsolutePath("file://localhost/srv/a.txt"), "/srv/a.txt");
  assert.equal(parseAbsolutePath("FILE://LOCALHOST/srv"), "/srv");
  assert.equal(parseAbsolutePath("file:/srv/a.txt"), "/srv/a.txt");
  assert.equal(parseAbsolutePath("file:///"), "/");
});

Deno.test("fs/paths decodes percent-escapes once and tolerates raw spaces", () => {
  assert.equal(parseAbsolutePath("file:///sp%20ace/f%2520x.txt"), "/sp ace/f%20x.txt");
  assert.equal(parseAbsolutePath("file:///raw space/x"), "/raw space/x");
  assert.equal(parseAbsolutePath("file:///caf%C3%A9"), "/café");
  assert.equal(parseAbsolutePath("file:///a/../b"), "/a/../b");
  assert.equal(parseAbsolutePath("file:///bad%zzescape"), "/bad%zzescape");
});

Deno.test("fs/paths rejects relative and empty paths with -32602", () => {
  for (const input of ["relative/x", "", "./x", "x"]) {
    const error = rpcErrorOf(() => parseAbsolutePath(input));
    assert.equal(error.code, ErrorCode.InvalidParams);
    assert.equal(error.message, `path is not absolute: ${input}`);
  }
});

Deno.test("fs/paths rejects other URI schemes with -32602", () => {
  const error = rpcErrorOf(() => parseAbsolutePath("http://example.com/x"));
  assert.equal(error.code, ErrorCode.InvalidParams);
  assert.equal(error.message, "unsupported path URI scheme `http`");
});

Deno.test("fs/paths rejects file URIs with a host with -32600", () => {
  for (const input of ["file://otherhost/x", "file://otherhost"]) {
    const error = rpcErrorOf(() => parseAbsolutePath(input));
    assert.equal(error.code, ErrorCode.InvalidRequest);
    assert.equal(error.message, "file URI contains an invalid absolute path");
  }
});

Deno.test("fs/paths toFileUri percent-encodes space, percent and non-ASCII", () => {
  assert.equal(toFileUri("/srv/data/fs/sp ace/f%20x.txt"), "file:///srv/data/fs/sp%20ace/f%2520x.txt");
  assert.equal(toFileUri("/"), "file:///");
  assert.equal(toFileUri("/café/a#b?c"), "file:///caf%C3%A9/a%23b%3Fc");
  for (const path of ["/a b/c%d/é", "/x/[y]+z~"]) assert.equal(parseAbsolutePath(toFileUri(path)), path);
});
