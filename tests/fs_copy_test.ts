import assert from "node:assert/strict";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { assertRpcError, withTempDir } from "./fs_test_util.ts";

const fs = createFsHandlers();

Deno.test("fs/copy copies a file to a new path and overwrites an existing file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "content");
    await Deno.chmod(`${dir}/src`, 0o640);
    assert.deepEqual(
      await fs["fs/copy"]({
        sourcePath: `${dir}/src`,
        destinationPath: toFileUri(`${dir}/new`),
        recursive: false,
      }),
      {},
    );
    assert.equal(await Deno.readTextFile(`${dir}/new`), "content");
    assert.equal((await Deno.stat(`${dir}/new`)).mode! & 0o777, 0o640);
    await Deno.writeTextFile(`${dir}/existing`, "old and longer");
    await fs["fs/copy"]({ sourcePath: `${dir}/src`, destinationPath: `${dir}/existing`, recursive: true });
    assert.equal(await Deno.readTextFile(`${dir}/existing`), "content");
    await fs["fs/copy"]({ sourcePath: `${dir}/src`, destinationPath: `${dir}/src`, recursive: false });
    assert.equal(await Deno.readTextFile(`${dir}/src`), "content", "copy onto itself keeps the data");
  });
});

Deno.test("fs/copy of a file onto an existing directory is -32603 Is a directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "x");
    await Deno.mkdir(`${dir}/dest`);
    await assertRpcError(
      fs["fs/copy"]({ sourcePath: `${dir}/src`, destinationPath: `${dir}/dest`, recursive: false }),
      ErrorCode.InternalError,
      "Is a directory (os error 21)",
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/dest`)), []);
  });
});

Deno.test("fs/copy of a directory requires recursive", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/tree`);
    await assertRpcError(
      fs["fs/copy"]({ sourcePath: `${dir}/tree`, destinationPath: `${dir}/copy`, recursive: false }),
      ErrorCode.InvalidRequest,
      "fs/copy requires recursive: true when sourcePath is a directory",
    );
  });
});

Deno.test("fs/copy copies a tree with links recreated, and merges into an existing directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/tree/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/a`, "a");
    await Deno.writeTextFile(`${dir}/tree/sub/b`, "b");
    await Deno.symlink("../a", `${dir}/tree/sub/rel-link`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/tree/dangling`);
    await fs["fs/copy"]({ sourcePath: `${dir}/tree`, destinationPath: `${dir}/copy`, recursive: true });
    assert.equal(await Deno.readTextFile(`${dir}/copy/a`), "a");
    assert.equal(await Deno.readTextFile(`${dir}/copy/sub/b`), "b");
    assert.equal(await Deno.readLink(`${dir}/copy/sub/rel-link`), "../a");
    assert.equal(await Deno.readLink(`${dir}/copy/dangling`), `${dir}/nowhere`);

    await Deno.mkdir(`${dir}/merge`);
    await Deno.writeTextFile(`${dir}/merge/kept`, "k");
    await fs["fs/copy"]({ sourcePath: `${dir}/tree`, destinationPath: `${dir}/merge`, recursive: true });
    const names = (await Array.fromAsync(Deno.readDir(`${dir}/merge`))).map((e) => e.name).sort();
    assert.deepEqual(names, ["a", "dangling", "kept", "sub"], "merged, not nested as merge/tree");
  });
});

Deno.test("fs/copy of a symlink recreates the link, dangling or not", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/target`, "t");
    await Deno.symlink("target", `${dir}/link`);
    await Deno.symlink("missing", `${dir}/dangling`);
    await fs["fs/copy"]({ sourcePath: `${dir}/link`, destinationPath: `${dir}/link2`, recursive: false });
    await fs["fs/copy"]({
      sourcePath: `${dir}/dangling`,
      destinationPath: `${dir}/dangling2`,
      recursive: false,
    });
    assert.ok((await Deno.lstat(`${dir}/link2`)).isSymlink);
    assert.equal(await Deno.readLink(`${dir}/link2`), "target");
    assert.equal(await Deno.readLink(`${dir}/dangling2`), "missing");
    await assertRpcError(
      fs["fs/copy"]({ sourcePath: `${dir}/link`, destinationPath: `${dir}/target`, recursive: false }),
      ErrorCode.InternalError,
      "File exists (os error 17)",
    );
  });
});

Deno.test("fs/copy refuses to copy a directory into itself or a descendant", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/tree/sub`, { recursive: true });
    await Deno.symlink(`${dir}/tree`, `${dir}/alias`);
    for (
      const destinationPath of [
        `${dir}/tree`,
        `${dir}/tree/sub/new`,
        `${dir}/alias/new`,
        `${dir}/tree/sub/../x`,
      ]
    ) {
      await assertRpcError(
        fs["fs/copy"]({ sourcePath: `${dir}/tree`, destinationPath, recursive: true }),
        ErrorCode.InvalidRequest,
        "fs/copy cannot copy a directory to itself or one of its descendants",
      );
    }
    // A sibling whose name merely starts with the source's name is fine.
    await fs["fs/copy"]({ sourcePath: `${dir}/tree`, destinationPath: `${dir}/tree-copy`, recursive: true });
    assert.ok((await Deno.stat(`${dir}/tree-copy/sub`)).isDirectory);
  });
});

Deno.test("fs/copy refuses devices and FIFOs, and a missing source is -32004", async () => {
  await withTempDir(async (dir) => {
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.ok(mkfifo.success);
    for (const sourcePath of ["/dev/null", `${dir}/fifo`]) {
      await assertRpcError(
        fs["fs/copy"]({ sourcePath, destinationPath: `${dir}/out`, recursive: false }),
        ErrorCode.InvalidRequest,
        "fs/copy only supports regular files, directories, and symlinks",
      );
    }
    await assertRpcError(
      fs["fs/copy"]({ sourcePath: `${dir}/missing`, destinationPath: `${dir}/out`, recursive: true }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
  });
});
