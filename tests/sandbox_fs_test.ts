/**
 * fs/* under a restricted sandbox profile, enforced by bubblewrap: the request runs in the helper
 * (tests/fixtures/sandbox_helper_entry.ts standing in for `main.ts __sandbox-helper`).
 */
import assert from "node:assert/strict";
import { requires } from "./support/requirements.ts";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { toFileUri } from "../src/protocol/paths.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { type SandboxContext, SandboxContextSchema, type SandboxEntry } from "../src/protocol/sandbox.ts";
import { bwrapAvailable } from "../src/sandbox/bwrap.ts";
import { setSelfCommand } from "../src/util/self_command.ts";
import { assertRpcError, b64, unb64, withTempDir } from "./fs_test_util.ts";

setSelfCommand([
  Deno.execPath(),
  "run",
  "-A",
  new URL("./fixtures/sandbox_helper_entry.ts", import.meta.url).pathname,
]);
const fs = createFsHandlers();
const { ignore } = requires("bubblewrap");

const root = (access: SandboxEntry["access"]): SandboxEntry => ({
  path: { type: "special", value: { kind: "root" } },
  access,
});
const at = (path: string, access: SandboxEntry["access"]): SandboxEntry => ({
  path: { type: "path", path },
  access,
});
function managed(entries: SandboxEntry[]): SandboxContext {
  return SandboxContextSchema.parse({
    permissions: { type: "managed", file_system: { type: "restricted", entries }, network: "restricted" },
    windowsSandboxLevel: "disabled",
  });
}

/** `<dir>/ws` writable, everything else readable; `<dir>/outside.txt` exists outside the root. */
async function workspace(dir: string): Promise<{ ws: string; sandbox: SandboxContext }> {
  const ws = `${dir}/ws`;
  await Deno.mkdir(ws);
  await Deno.writeTextFile(`${dir}/outside.txt`, "outside");
  return { ws, sandbox: managed([root("read"), at(ws, "write")]) };
}

const EROFS = "Read-only file system (os error 30)";

Deno.test({
  name: "sandbox/fs writes inside a writable root succeed and writes outside fail with EROFS",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const { ws, sandbox } = await workspace(dir);
      await fs["fs/writeFile"]({ path: toFileUri(`${ws}/in.txt`), dataBase64: b64("inside"), sandbox });
      assert.equal(await Deno.readTextFile(`${ws}/in.txt`), "inside");
      await fs["fs/createDirectory"]({ path: `${ws}/d/e`, sandbox });
      await fs["fs/copy"]({
        sourcePath: `${dir}/outside.txt`,
        destinationPath: `${ws}/d/copied`,
        recursive: false,
        sandbox,
      });
      assert.equal(await Deno.readTextFile(`${ws}/d/copied`), "outside");
      await fs["fs/remove"]({ path: `${ws}/d`, sandbox });
      await assert.rejects(Deno.stat(`${ws}/d`), Deno.errors.NotFound);

      await assertRpcError(
        fs["fs/writeFile"]({ path: `${dir}/new.txt`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${dir}/outside.txt`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/createDirectory"]({ path: `${dir}/newdir`, sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/remove"]({ path: `${dir}/outside.txt`, sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/copy"]({
          sourcePath: `${ws}/in.txt`,
          destinationPath: `${dir}/copy.txt`,
          recursive: false,
          sandbox,
        }),
        ErrorCode.InternalError,
        EROFS,
      );
      assert.equal(await Deno.readTextFile(`${dir}/outside.txt`), "outside");
      await assert.rejects(Deno.stat(`${dir}/new.txt`), Deno.errors.NotFound);
    }),
});

Deno.test({
  name: "sandbox/fs reads anywhere readable, and NotFound inside the sandbox is still -32004",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const { ws, sandbox } = await workspace(dir);
      assert.equal(
        unb64((await fs["fs/readFile"]({ path: `${dir}/outside.txt`, sandbox })).dataBase64),
        "outside",
      );
      const meta = await fs["fs/getMetadata"]({ path: `${dir}/outside.txt`, sandbox });
      assert.deepEqual([meta.isFile, meta.size], [true, 7]);
      assert.deepEqual(await fs["fs/canonicalize"]({ path: `${ws}/../outside.txt`, sandbox }), {
        path: toFileUri(`${dir}/outside.txt`),
      });
      const { entries } = await fs["fs/readDirectory"]({ path: dir, sandbox });
      assert.deepEqual(entries.map((e) => e.fileName).sort(), ["outside.txt", "ws"]);
      await assertRpcError(
        fs["fs/readFile"]({ path: `${ws}/missing`, sandbox }),
        ErrorCode.NotFound,
        "No such file or directory (os error 2)",
      );
      await assertRpcError(
        fs["fs/remove"]({ path: `${ws}/missing`, force: false, sandbox }),
        ErrorCode.NotFound,
        /os error 2/,
      );
      await assertRpcError(
        fs["fs/readFile"]({ path: ws, sandbox }),
        ErrorCode.InvalidRequest,
        `path \`${ws}\` is not a file`,
      );
    }),
});

Deno.test({
  name: "sandbox/fs `..` and symlink escapes from a writable root fail",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const { ws, sandbox } = await workspace(dir);
      await Deno.mkdir(`${dir}/victim`);
      await Deno.symlink(`${dir}/victim`, `${ws}/escape-dir`);
      await Deno.symlink(`${dir}/outside.txt`, `${ws}/escape-file`);
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${ws}/../dotdot.txt`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `file://${ws}/%2E%2E/enc.txt`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${ws}/escape-dir/f`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${ws}/escape-file`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      await assertRpcError(
        fs["fs/copy"]({
          sourcePath: `${ws}`,
          destinationPath: `${ws}/escape-dir/tree`,
          recursive: true,
          sandbox,
        }),
        ErrorCode.InternalError,
        EROFS,
      );
      // Removing the link itself is inside the root and allowed; the target survives.
      await fs["fs/remove"]({ path: `${ws}/escape-dir`, sandbox });
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/victim`)), []);
      assert.equal(await Deno.readTextFile(`${dir}/outside.txt`), "outside");
      for (const name of ["dotdot.txt", "enc.txt"]) {
        await assert.rejects(Deno.stat(`${dir}/${name}`), Deno.errors.NotFound);
      }
    }),
});

Deno.test({
  name: "sandbox/fs deny entries mask files and directories",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = `${dir}/ws`;
      await Deno.mkdir(`${ws}/private`, { recursive: true });
      await Deno.writeTextFile(`${ws}/secret.env`, "TOKEN=hunter2");
      await Deno.writeTextFile(`${ws}/private/key`, "KEY");
      await Deno.symlink(`${ws}/secret.env`, `${ws}/alias`);
      const sandbox = managed([
        root("read"),
        at(ws, "write"),
        at(`${ws}/secret.env`, "deny"),
        at(`${ws}/private`, "none"),
      ]);
      // A denied file is /dev/null on a nodev mount: opening it is refused.
      for (const path of [`${ws}/secret.env`, `${ws}/alias`]) {
        await assertRpcError(
          fs["fs/readFile"]({ path, sandbox }),
          ErrorCode.InvalidRequest,
          "Permission denied (os error 13)",
        );
      }
      assert.deepEqual(await fs["fs/readDirectory"]({ path: `${ws}/private`, sandbox }), { entries: [] });
      await assertRpcError(
        fs["fs/readFile"]({ path: `${ws}/private/key`, sandbox }),
        ErrorCode.NotFound,
        /os error 2/,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${ws}/secret.env`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InvalidRequest,
        "Permission denied (os error 13)",
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: `${ws}/private/new`, dataBase64: b64("x"), sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      assert.equal(await Deno.readTextFile(`${ws}/secret.env`), "TOKEN=hunter2");
    }),
});

Deno.test({
  name: "sandbox/fs without a readable root, only the granted paths exist",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = `${dir}/ws`;
      await Deno.mkdir(ws);
      await Deno.writeTextFile(`${dir}/outside.txt`, "outside");
      const sandbox = managed([at(ws, "write")]);
      await fs["fs/writeFile"]({ path: `${ws}/f`, dataBase64: b64("ok"), sandbox });
      assert.deepEqual(await fs["fs/readDirectory"]({ path: ws, sandbox }), {
        entries: [{ fileName: "f", isDirectory: false, isFile: true }],
      });
      await assertRpcError(
        fs["fs/readFile"]({ path: `${dir}/outside.txt`, sandbox }),
        ErrorCode.NotFound,
        /os error 2/,
      );
      await assertRpcError(
        fs["fs/writeFile"]({ path: "/exec-server-sandbox-probe", dataBase64: "", sandbox }),
        ErrorCode.InternalError,
        EROFS,
      );
      // The legacy form is always enforced.
      const legacy = SandboxContextSchema.parse({
        permissions: { file_system: { write: [ws] } },
        windowsSandboxLevel: "disabled",
      });
      await fs["fs/writeFile"]({ path: `${ws}/legacy`, dataBase64: b64("l"), sandbox: legacy });
      await assertRpcError(
        fs["fs/readFile"]({ path: `${dir}/outside.txt`, sandbox: legacy }),
        ErrorCode.NotFound,
        /os error 2/,
      );
    }),
});

Deno.test("sandbox/fs refuses restricted requests when bubblewrap is missing, and never runs them unsandboxed", async () => {
  await withTempDir(async (dir) => {
    const missing = createFsHandlers({ bwrap: `${dir}/no-such-bwrap` });
    const sandbox = managed([root("read"), at(dir, "write")]);
    await assertRpcError(
      missing["fs/writeFile"]({ path: `${dir}/f`, dataBase64: b64("x"), sandbox }),
      ErrorCode.InternalError,
      /^fs sandbox helper failed with status exit status: 1: bubblewrap is unavailable: no system bwrap was found/,
    );
    await assert.rejects(Deno.stat(`${dir}/f`), Deno.errors.NotFound);
    // Profiles that need no sandbox still work without bubblewrap.
    await missing["fs/writeFile"]({
      path: `${dir}/g`,
      dataBase64: b64("y"),
      sandbox: SandboxContextSchema.parse({
        permissions: { type: "disabled" },
        windowsSandboxLevel: "disabled",
      }),
    });
    assert.equal(await Deno.readTextFile(`${dir}/g`), "y");
  });
});

Deno.test("sandbox/fs reports a helper that fails to start as -32603 with its stderr", async () => {
  await withTempDir(async (dir) => {
    const broken = createFsHandlers({
      helperCommand: () => ["/bin/sh", "-c", "echo helper exploded >&2; exit 3", "sh"],
    });
    await assertRpcError(
      broken["fs/readFile"]({ path: `${dir}/x`, sandbox: managed([root("read")]) }),
      ErrorCode.InternalError,
      bwrapAvailable()
        ? "fs sandbox helper failed with status exit status: 3: helper exploded"
        : /bubblewrap is unavailable/,
    );
  });
});
