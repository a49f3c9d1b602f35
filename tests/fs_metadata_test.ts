import assert from "node:assert/strict";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { assertRpcError, withTempDir } from "./fs_test_util.ts";

const fs = createFsHandlers();

Deno.test("fs/getMetadata reports a file, in the wire's field order", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "hello");
    const meta = await fs["fs/getMetadata"]({ path: `${dir}/f` });
    assert.deepEqual(Object.keys(meta), [
      "isDirectory",
      "isFile",
      "isSymlink",
      "size",
      "createdAtMs",
      "modifiedAtMs",
    ]);
    assert.deepEqual([meta.isDirectory, meta.isFile, meta.isSymlink, meta.size], [false, true, false, 5]);
    const stat = await Deno.stat(`${dir}/f`);
    assert.equal(meta.modifiedAtMs, stat.mtime!.getTime());
    assert.equal(meta.createdAtMs, stat.birthtime?.getTime() ?? 0);
    assert.ok(Number.isInteger(meta.createdAtMs) && meta.createdAtMs >= 0);
  });
});

Deno.test("fs/getMetadata follows symlinks for type and size but reports the link itself", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "hello");
    await Deno.symlink(`${dir}/f`, `${dir}/lf`);
    await Deno.symlink(dir, `${dir}/ld`);
    const file = await fs["fs/getMetadata"]({ path: toFileUri(`${dir}/lf`) });
    assert.deepEqual([file.isDirectory, file.isFile, file.isSymlink, file.size], [false, true, true, 5]);
    const directory = await fs["fs/getMetadata"]({ path: `${dir}/ld` });
    assert.deepEqual([directory.isDirectory, directory.isFile, directory.isSymlink], [true, false, true]);
    const plain = await fs["fs/getMetadata"]({ path: dir });
    assert.deepEqual([plain.isDirectory, plain.isFile, plain.isSymlink], [true, false, false]);
  });
});

Deno.test("fs/getMetadata of a missing path or dangling link is -32004", async () => {
  await withTempDir(async (dir) => {
    await Deno.symlink(`${dir}/nothing`, `${dir}/dangling`);
    for (const path of [`${dir}/missing`, `${dir}/dangling`]) {
      await assertRpcError(
        fs["fs/getMetadata"]({ path }),
        ErrorCode.NotFound,
        "No such file or directory (os error 2)",
      );
    }
  });
});

Deno.test("fs/canonicalize returns realpath as a percent-encoded file URI", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sp ace`);
    await Deno.writeTextFile(`${dir}/sp ace/f%20x.txt`, "");
    await Deno.symlink(`${dir}/sp ace`, `${dir}/link`);
    assert.deepEqual(await fs["fs/canonicalize"]({ path: `${dir}/link/f%20x.txt` }), {
      path: `file://${dir}/sp%20ace/f%2520x.txt`,
    });
    assert.deepEqual(await fs["fs/canonicalize"]({ path: `${dir}/sp ace/../sp ace/` }), {
      path: toFileUri(`${dir}/sp ace`),
    });
    assert.deepEqual(await fs["fs/canonicalize"]({ path: "/" }), { path: "file:///" });
    assert.deepEqual(await fs["fs/canonicalize"]({ path: "file:///" }), { path: "file:///" });
  });
});

Deno.test("fs/canonicalize of a missing path or dangling link is -32004", async () => {
  await withTempDir(async (dir) => {
    await Deno.symlink(`${dir}/nothing`, `${dir}/dangling`);
    for (const path of [`${dir}/missing`, `${dir}/dangling`]) {
      await assertRpcError(
        fs["fs/canonicalize"]({ path }),
        ErrorCode.NotFound,
        "No such file or directory (os error 2)",
      );
    }
  });
});
