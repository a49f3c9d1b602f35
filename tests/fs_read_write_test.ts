import assert from "node:assert/strict";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { assertRpcError, b64, unb64, withTempDir } from "./fs_test_util.ts";

const fs = createFsHandlers();

Deno.test("fs/readFile returns the whole file as base64, by native path and by file URI", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    await Deno.mkdir(`${dir}/sp ace`);
    await Deno.writeTextFile(`${dir}/sp ace/f%20x.txt`, "escaped");
    assert.deepEqual(await fs["fs/readFile"]({ path: `${dir}/a.txt` }), { dataBase64: "aGVsbG8=" });
    assert.deepEqual(await fs["fs/readFile"]({ path: `file://${dir}/a.txt`, sandbox: null }), {
      dataBase64: "aGVsbG8=",
    });
    const uri = toFileUri(`${dir}/sp ace/f%20x.txt`);
    assert.ok(uri.endsWith("/sp%20ace/f%2520x.txt"));
    assert.equal(unb64((await fs["fs/readFile"]({ path: uri })).dataBase64), "escaped");
    assert.equal(
      unb64((await fs["fs/readFile"]({ path: `file://localhost${dir}/sp ace/f%2520x.txt` })).dataBase64),
      "escaped",
    );
  });
});

Deno.test("fs/readFile follows symlinks and passes `..` to the OS", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/target`, "via link");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    await Deno.mkdir(`${dir}/sub`);
    assert.equal(unb64((await fs["fs/readFile"]({ path: `${dir}/link` })).dataBase64), "via link");
    assert.equal(unb64((await fs["fs/readFile"]({ path: `${dir}/sub/../target` })).dataBase64), "via link");
    // `missing/..` is not normalised away: the OS sees the missing directory.
    await assertRpcError(
      fs["fs/readFile"]({ path: `${dir}/missing/../target` }),
      ErrorCode.NotFound,
      /os error 2/,
    );
  });
});

Deno.test("fs/readFile errors: missing is -32004, a directory is -32600, bad paths are -32602/-32600", async () => {
  await withTempDir(async (dir) => {
    await assertRpcError(
      fs["fs/readFile"]({ path: `${dir}/nope` }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
    await assertRpcError(
      fs["fs/readFile"]({ path: dir }),
      ErrorCode.InvalidRequest,
      `path \`${dir}\` is not a file`,
    );
    await assertRpcError(
      fs["fs/readFile"]({ path: "rel/x" }),
      ErrorCode.InvalidParams,
      "path is not absolute: rel/x",
    );
    await assertRpcError(fs["fs/readFile"]({ path: "" }), ErrorCode.InvalidParams, "path is not absolute: ");
    await assertRpcError(
      fs["fs/readFile"]({ path: "https://x/y" }),
      ErrorCode.InvalidParams,
      "unsupported path URI scheme `https`",
    );
    await assertRpcError(
      fs["fs/readFile"]({ path: "file://otherhost/x" }),
      ErrorCode.InvalidRequest,
      "file URI contains an invalid absolute path",
    );
  });
});

Deno.test("fs/readFile ranged reads return size and eof", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/r`, "0123456789");
    const first = await fs["fs/readFile"]({ path: `${dir}/r`, offset: 0, length: 4 });
    assert.deepEqual({ ...first, dataBase64: unb64(first.dataBase64) }, {
      dataBase64: "0123",
      size: 10,
      eof: false,
    });
    const last = await fs["fs/readFile"]({ path: `${dir}/r`, offset: 6, length: 100 });
    assert.deepEqual({ ...last, dataBase64: unb64(last.dataBase64) }, {
      dataBase64: "6789",
      size: 10,
      eof: true,
    });
    const rest = await fs["fs/readFile"]({ path: `${dir}/r`, offset: 8 });
    assert.equal(unb64(rest.dataBase64), "89");
    assert.deepEqual(await fs["fs/readFile"]({ path: `${dir}/r`, offset: 50, length: 5 }), {
      dataBase64: "",
      size: 10,
      eof: true,
    });
    assert.deepEqual(await fs["fs/readFile"]({ path: `${dir}/r`, offset: 2, length: 0 }), {
      dataBase64: "",
      size: 10,
      eof: false,
    });
  });
});

Deno.test("fs/readFile of a file larger than one read chunk is exact", async () => {
  await withTempDir(async (dir) => {
    const bytes = Uint8Array.from({ length: 7 * 1024 * 1024 + 5 }, (_, i) => (i * 31) & 0xff);
    await Deno.writeFile(`${dir}/big`, bytes);
    const { dataBase64 } = await fs["fs/readFile"]({ path: `${dir}/big` });
    assert.equal(dataBase64, (bytes as unknown as { toBase64(): string }).toBase64());
  });
});

Deno.test("fs/writeFile creates and truncates files, by native path and by file URI", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(
      await fs["fs/writeFile"]({ path: `${dir}/n.txt`, dataBase64: b64("first, longer") }),
      {},
    );
    await fs["fs/writeFile"]({ path: toFileUri(`${dir}/n.txt`), dataBase64: b64("second") });
    assert.equal(await Deno.readTextFile(`${dir}/n.txt`), "second");
    await fs["fs/writeFile"]({ path: `file:${dir}/empty`, dataBase64: "" });
    assert.equal((await Deno.stat(`${dir}/empty`)).size, 0);
    // No temp files are left behind.
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(names, ["empty", "n.txt"]);
  });
});

Deno.test("fs/writeFile replaces atomically, keeping the mode, and writes through symlinks", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/script`, "old");
    await Deno.chmod(`${dir}/script`, 0o750);
    const before = await Deno.stat(`${dir}/script`);
    await fs["fs/writeFile"]({ path: `${dir}/script`, dataBase64: b64("new") });
    const after = await Deno.stat(`${dir}/script`);
    assert.equal(after.mode! & 0o7777, 0o750);
    assert.notEqual(after.ino, before.ino, "replaced by rename, not rewritten in place");

    await Deno.writeTextFile(`${dir}/target`, "t");
    await Deno.symlink("target", `${dir}/link`);
    await fs["fs/writeFile"]({ path: `${dir}/link`, dataBase64: b64("through") });
    assert.ok((await Deno.lstat(`${dir}/link`)).isSymlink);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "through");
    // A dangling link creates its target, as open(2) would.
    await Deno.symlink("created", `${dir}/dangling`);
    await fs["fs/writeFile"]({ path: `${dir}/dangling`, dataBase64: b64("c") });
    assert.equal(await Deno.readTextFile(`${dir}/created`), "c");
  });
});

Deno.test("fs/writeFile errors: missing parent -32004, directory -32603, bad base64 -32600", async () => {
  await withTempDir(async (dir) => {
    await assertRpcError(
      fs["fs/writeFile"]({ path: `${dir}/no/such/f`, dataBase64: "" }),
      ErrorCode.NotFound,
      "No such file or directory (os error 2)",
    );
    await assertRpcError(
      fs["fs/writeFile"]({ path: dir, dataBase64: "" }),
      ErrorCode.InternalError,
      "Is a directory (os error 21)",
    );
    await assertRpcError(
      fs["fs/writeFile"]({ path: `${dir}/f`, dataBase64: "!!!!" }),
      ErrorCode.InvalidRequest,
      "fs/writeFile requires valid base64 dataBase64: Invalid symbol 33, offset 0.",
    );
    await assertRpcError(
      fs["fs/writeFile"]({ path: `${dir}/f`, dataBase64: "aGVs bG8=" }),
      ErrorCode.InvalidRequest,
      "fs/writeFile requires valid base64 dataBase64: Invalid symbol 32, offset 4.",
    );
    await assertRpcError(
      fs["fs/writeFile"]({ path: `${dir}/f`, dataBase64: "aGVsbG8" }),
      ErrorCode.InvalidRequest,
      "fs/writeFile requires valid base64 dataBase64: Invalid padding",
    );
    await assert.rejects(Deno.stat(`${dir}/f`), Deno.errors.NotFound);
  });
});

Deno.test("fs/writeFile offset and append write in place", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/p`;
    await fs["fs/writeFile"]({ path, dataBase64: b64("0123456789") });
    const ino = (await Deno.stat(path)).ino;
    await fs["fs/writeFile"]({ path, dataBase64: b64("ab"), offset: 3 });
    assert.equal(await Deno.readTextFile(path), "012ab56789");
    await fs["fs/writeFile"]({ path, dataBase64: b64("!"), append: true });
    assert.equal(await Deno.readTextFile(path), "012ab56789!");
    assert.equal((await Deno.stat(path)).ino, ino);
    await fs["fs/writeFile"]({ path: `${dir}/fresh`, dataBase64: b64("x"), offset: 2 });
    assert.deepEqual(await Deno.readFile(`${dir}/fresh`), new Uint8Array([0, 0, 120]));
    await assertRpcError(
      fs["fs/writeFile"]({ path, dataBase64: "", offset: 1, append: true }),
      ErrorCode.InvalidParams,
      "offset and append cannot be combined",
    );
  });
});

// Root bypasses file modes, but sysctl files keep theirs: this write-only one refuses reads with EACCES.
const WRITE_ONLY = "/proc/sys/vm/compact_memory";
const writeOnlyRefusesReads = await Deno.readFile(WRITE_ONLY).then(
  () => false,
  (e) => e instanceof Deno.errors.PermissionDenied,
);

Deno.test({
  name: "fs/readFile permission denied is -32600",
  ignore: !writeOnlyRefusesReads,
  fn: async () => {
    await assertRpcError(
      fs["fs/readFile"]({ path: WRITE_ONLY }),
      ErrorCode.InvalidRequest,
      "Permission denied (os error 13)",
    );
  },
});
