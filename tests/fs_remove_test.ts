import assert from "node:assert/strict";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { assertRpcError, withTempDir } from "./fs_test_util.ts";

const fs = createFsHandlers();

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("fs/remove removes files and non-empty directories by default", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "");
    await Deno.mkdir(`${dir}/tree/a/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/a/b/f`, "");
    assert.deepEqual(await fs["fs/remove"]({ path: `${dir}/f` }), {});
    await fs["fs/remove"]({ path: toFileUri(`${dir}/tree`), recursive: null, force: null });
    assert.equal(await exists(`${dir}/f`), false);
    assert.equal(await exists(`${dir}/tree`), false);
  });
});

Deno.test("fs/remove of a missing path succeeds with force and is -32004 without", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await fs["fs/remove"]({ path: `${dir}/missing` }), {});
    assert.deepEqual(await fs["fs/remove"]({ path: `${dir}/missing`, force: true }), {});
    await assertRpcError(
      fs["fs/remove"]({ path: `${dir}/missing`, force: false }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
  });
});

Deno.test("fs/remove without recursive: non-empty directory fails, empty directory goes", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/full`);
    await Deno.writeTextFile(`${dir}/full/f`, "");
    await Deno.mkdir(`${dir}/empty`);
    await assertRpcError(
      fs["fs/remove"]({ path: `${dir}/full`, recursive: false }),
      ErrorCode.InternalError,
      "Directory not empty (os error 39)",
    );
    assert.ok(await exists(`${dir}/full/f`));
    await fs["fs/remove"]({ path: `${dir}/empty`, recursive: false });
    assert.equal(await exists(`${dir}/empty`), false);
  });
});

Deno.test("fs/remove removes symlinks, not their targets, including dangling links", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/keep`, "");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    await Deno.symlink(`${dir}/nothing`, `${dir}/dangling`);
    await fs["fs/remove"]({ path: `${dir}/link`, recursive: true });
    await fs["fs/remove"]({ path: `${dir}/dangling`, force: false });
    assert.equal(await exists(`${dir}/link`), false);
    assert.equal(await exists(`${dir}/dangling`), false);
    assert.ok(await exists(`${dir}/target/keep`));
  });
});

Deno.test("fs/remove recursion does not follow links out of the tree", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/outside`);
    await Deno.writeTextFile(`${dir}/outside/keep`, "");
    await Deno.mkdir(`${dir}/tree`);
    await Deno.symlink(`${dir}/outside`, `${dir}/tree/link`);
    await fs["fs/remove"]({ path: `${dir}/tree` });
    assert.equal(await exists(`${dir}/tree`), false);
    assert.ok(await exists(`${dir}/outside/keep`));
  });
});
