import assert from "node:assert/strict";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { assertRpcError, withTempDir } from "./fs_test_util.ts";

const fs = createFsHandlers();

Deno.test("fs/createDirectory is recursive by default (null too) and accepts an existing directory", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await fs["fs/createDirectory"]({ path: `${dir}/a/b/c` }), {});
    assert.ok((await Deno.stat(`${dir}/a/b/c`)).isDirectory);
    await fs["fs/createDirectory"]({ path: toFileUri(`${dir}/x y/z`), recursive: null });
    assert.ok((await Deno.stat(`${dir}/x y/z`)).isDirectory);
    await fs["fs/createDirectory"]({ path: `${dir}/a/b`, recursive: true });
  });
});

Deno.test("fs/createDirectory errors: existing file, existing dir without recursive, missing parent", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    await assertRpcError(
      fs["fs/createDirectory"]({ path: `${dir}/file` }),
      ErrorCode.InternalError,
      "File exists (os error 17)",
    );
    await assertRpcError(
      fs["fs/createDirectory"]({ path: dir, recursive: false }),
      ErrorCode.InternalError,
      "File exists (os error 17)",
    );
    await assertRpcError(
      fs["fs/createDirectory"]({ path: `${dir}/no/such`, recursive: false }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
    await fs["fs/createDirectory"]({ path: `${dir}/single`, recursive: false });
    assert.ok((await Deno.stat(`${dir}/single`)).isDirectory);
  });
});

Deno.test("fs/readDirectory lists entries with followed types and omits dangling links", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.mkdir(`${dir}/sub`);
    await Deno.symlink(`${dir}/file`, `${dir}/link-to-file`);
    await Deno.symlink(`${dir}/sub`, `${dir}/link-to-dir`);
    await Deno.symlink(`${dir}/missing`, `${dir}/dangling`);
    const { entries } = await fs["fs/readDirectory"]({ path: toFileUri(dir) });
    const raw = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((n) => n !== "dangling");
    assert.deepEqual(entries.map((e) => e.fileName), raw, "raw readdir order");
    const byName = Object.fromEntries(entries.map((e) => [e.fileName, [e.isDirectory, e.isFile]]));
    assert.deepEqual(byName, {
      file: [false, true],
      sub: [true, false],
      "link-to-file": [false, true],
      "link-to-dir": [true, false],
    });
    assert.deepEqual(await fs["fs/readDirectory"]({ path: `${dir}/sub` }), { entries: [] });
  });
});

Deno.test("fs/readDirectory errors: a file is -32603 Not a directory, missing is -32004", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    await assertRpcError(
      fs["fs/readDirectory"]({ path: `${dir}/file` }),
      ErrorCode.InternalError,
      "Not a directory (os error 20)",
    );
    await assertRpcError(
      fs["fs/readDirectory"]({ path: `${dir}/missing` }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
  });
});
