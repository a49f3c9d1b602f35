/**
 * Differential tests: the same request sequences (file handles, walks, missing-path watches, reads of
 * non-regular files, writes through hard links; direct and sandboxed) sent to the real Codex 0.171
 * exec-server and to ours, both over stdio with `file://` URIs, must give the same results, error
 * codes and messages (ours may add `for field ...`), notifications and effects on disk.
 */
import { requires } from "./support/requirements.ts";
import { b64, call, compare, type Step, u } from "./support/differential.ts";
import type { Json } from "./support/rpc_peer.ts";

const read = (w: string, rel: string) => Deno.readTextFile(`${w}/${rel}`).catch((e) => `${e.name}`);

async function handleFixture(w: string): Promise<void> {
  await Deno.writeTextFile(`${w}/a.txt`, "0123456789");
  await Deno.writeTextFile(`${w}/empty.txt`, "");
  await Deno.mkdir(`${w}/dir`);
  await Deno.symlink("a.txt", `${w}/link`);
  await Deno.symlink("dir", `${w}/linkdir`);
  await new Deno.Command("mkfifo", { args: [`${w}/fifo`] }).output();
}

Deno.test("fs/open, readBlock, writeBlock, close match the reference: results, limits, errors", () =>
  compare(handleFixture, [
    call("fs/open", (w) => ({ handleId: "h0", path: u(w, "a.txt") })),
    call("initialize", () => ({ clientName: "diff", resumeSessionId: null }), "ok"),
    call("fs/open", (w) => ({ handleId: "h0", path: u(w, "a.txt") })),
    { notify: "initialized" },
    call("fs/open", (w) => ({ handleId: "h1", path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "h1", path: u(w, "missing") })),
    call("fs/open", (w) => ({ handleId: "x".repeat(33), path: u(w, "missing") })),
    call("fs/open", (w) => ({ handleId: "y".repeat(32), path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "é".repeat(16), path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "é".repeat(17), path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "", path: u(w, "a.txt"), mode: "read" })),
    call("fs/open", (w) => ({ handleId: "d", path: u(w, "dir") })),
    call("fs/open", (w) => ({ handleId: "f", path: u(w, "fifo") })),
    call("fs/open", () => ({ handleId: "n", path: "file:///dev/null" })),
    call("fs/open", () => ({ handleId: "n", path: "file:///dev/null", mode: "replace" })),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "missing") })),
    call("fs/open", (w) => ({ handleId: "l", path: u(w, "link") })),
    call("fs/open", (w) => ({ handleId: "ld", path: u(w, "linkdir") })),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "no/such/x"), mode: "replace" })),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "dir"), mode: "replace" })),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "fifo"), mode: "replace" })),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "a.txt"), mode: null }), "code"),
    call("fs/open", (w) => ({ handleId: "m", path: u(w, "a.txt"), mode: "append" }), "code"),
    call("fs/open", (w) => ({ handleId: 5, path: u(w, "a.txt") }), "code"),
    call("fs/open", (w) => ({ path: u(w, "a.txt") })),
    call("fs/open", () => ({ handleId: "q" })),
    call("fs/open", () => null),
    call("fs/open", () => ({ handleId: "q", path: "http://x/y" })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 4 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 4, len: 6 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 8, len: 10 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 10, len: 5 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 3, len: 1 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 1048576 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 2 ** 53, len: 1 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 2 ** 62, len: 1 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 0 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 1048577 })),
    call("fs/readBlock", () => ({ handleId: "nope", offset: 0, len: 0 })),
    call("fs/readBlock", () => ({ handleId: "nope", offset: 0, len: 1 })),
    call("fs/readBlock", () => ({ handleId: "z".repeat(40), offset: 0, len: 1 })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0 })),
    call("fs/readBlock", () => ({ handleId: "h1", len: 1 })),
    call("fs/readBlock", () => null),
    call("fs/writeBlock", () => ({ handleId: "h1", offset: 0, chunk: b64("a") })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0, chunk: "" })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0, chunk: "!!" })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0, chunk: "YQ" })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0, chunk: "YR==" })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0, chunk: b64("a") })),
    call("fs/writeBlock", () => ({ handleId: "nope", offset: 0 })),
    call("fs/writeBlock", () => ({ handleId: "h1", offset: 0, chunk: new Uint8Array(1048577).toBase64() })),
    call("fs/writeBlock", () => null),
    { fact: (w) => read(w, "a.txt") },
    call("fs/close", () => ({ handleId: "h1" })),
    call("fs/close", () => ({ handleId: "h1" })),
    call("fs/close", () => ({ handleId: "never" })),
    call("fs/close", () => ({ handleId: "z".repeat(40) })),
    call("fs/close", () => ({})),
    call("fs/close", () => null),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 1 })),
    call("fs/open", (w) => ({ handleId: "h1", path: u(w, "empty.txt") })),
    call("fs/readBlock", () => ({ handleId: "h1", offset: 0, len: 4 })),
    call("fs/open", (w) => ({ handleId: "w", path: u(w, "new.txt"), mode: "replace" })),
    { fact: (w) => read(w, "new.txt") },
    call("fs/writeBlock", () => ({ handleId: "w", offset: 0, chunk: b64("hello ") })),
    call("fs/writeBlock", () => ({ handleId: "w", offset: 6, chunk: b64("world") })),
    { fact: (w) => read(w, "new.txt") },
    call("fs/writeBlock", () => ({ handleId: "w", offset: 14, chunk: b64("Z") })),
    call("fs/writeBlock", () => ({ handleId: "w", offset: 0, chunk: b64("H") })),
    call("fs/writeBlock", () => ({ handleId: "w", offset: 2 ** 53, chunk: b64("H") })),
    call("fs/readBlock", () => ({ handleId: "w", offset: 0, len: 1 })),
    call("fs/close", () => ({ handleId: "w" })),
    { fact: (w) => read(w, "new.txt") },
    call("fs/open", (w) => ({ handleId: "r", path: u(w, "a.txt"), mode: "replace" })),
    { fact: (w) => read(w, "a.txt") },
    call("fs/writeBlock", () => ({ handleId: "r", offset: 0, chunk: b64("NEW") })),
    call("fs/close", () => ({ handleId: "r" })),
    { fact: (w) => read(w, "a.txt") },
    // A handle keeps reading the file it opened after its path is replaced.
    call("fs/open", (w) => ({ handleId: "k", path: u(w, "a.txt") })),
    { act: (w) => Deno.rename(`${w}/empty.txt`, `${w}/a.txt`) },
    call("fs/readBlock", () => ({ handleId: "k", offset: 0, len: 10 })),
  ], { handshake: false }));

Deno.test("fs/open capacity matches the reference: 128 per connection, refused replace touches nothing", () => {
  const opens: Step[] = Array.from(
    { length: 128 },
    (_, i) => call("fs/open", (w) => ({ handleId: `c${i}`, path: u(w, "a.txt") }), "ok"),
  );
  return compare(handleFixture, [
    ...opens,
    call("fs/open", (w) => ({ handleId: "over", path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "c5", path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "over", path: u(w, "a.txt"), mode: "replace" })),
    call("fs/open", (w) => ({ handleId: "over", path: u(w, "created.txt"), mode: "replace" })),
    { fact: async (w) => [await read(w, "a.txt"), await read(w, "created.txt")] },
    call("fs/readBlock", () => ({ handleId: "c1", offset: 0, len: 100 })),
    call("fs/open", (w) => ({ handleId: "over", path: u(w, "a.txt") })),
    call("fs/close", () => ({ handleId: "c0" })),
    call("fs/open", (w) => ({ handleId: "again", path: u(w, "a.txt") })),
    call("fs/open", (w) => ({ handleId: "again2", path: u(w, "a.txt") })),
  ]);
});

async function walkFixture(w: string): Promise<void> {
  for (const dir of [".hid/x", "a", "b/c/d", "noperm", "z"]) {
    await Deno.mkdir(`${w}/t/${dir}`, { recursive: true });
  }
  for (const file of [".dotfile", ".hid/x/h.txt", "b/f2.txt", "b/c/d/deep.txt", "f1.txt", "noperm/s"]) {
    await Deno.writeTextFile(`${w}/t/${file}`, "x");
  }
  await Deno.symlink("b", `${w}/t/linkdir`);
  await Deno.symlink("f1.txt", `${w}/t/linkfile`);
  await Deno.symlink("nowhere", `${w}/t/dangling`);
  await Deno.symlink("..", `${w}/t/b/up`);
  await new Deno.Command("mkfifo", { args: [`${w}/t/fifo`] }).output();
}

Deno.test("fs/walk matches the reference: order, limits, symlinks, pruning, roots and errors", () => {
  const max = { maxDepth: 64, maxDirectories: 10_000, maxEntries: 50_000, followDirectorySymlinks: false };
  const walk = (options: unknown, rel = "t") => call("fs/walk", (w) => ({ path: u(w, rel), options }));
  return compare(walkFixture, [
    walk(max),
    walk({ ...max, followDirectorySymlinks: true }),
    walk({ ...max, maxDepth: 0 }),
    walk({ ...max, maxDepth: 1 }),
    ...[1, 3, 7, 8, 11, 12].map((n) => walk({ ...max, maxEntries: n })),
    ...[1, 2, 3].map((n) => walk({ ...max, maxDirectories: n })),
    walk({ ...max, pruneHiddenDirectories: true }),
    walk({ ...max, pruneHiddenDirectories: false }),
    walk({ ...max, maxEntries: 50_001 }),
    walk({ ...max, maxDirectories: 10_001 }),
    walk({ ...max, maxDepth: 65 }),
    walk({ ...max, maxDepth: 65, maxEntries: 0 }),
    walk({ ...max, maxDirectories: 0 }),
    walk({ ...max, maxDepth: -1 }),
    walk({ ...max, followDirectorySymlinks: null }),
    walk({ ...max, followDirectorySymlinks: "no" }),
    walk({ ...max, pruneHiddenDirectories: null }),
    walk({ maxDepth: 1, maxDirectories: 1, maxEntries: 1 }),
    walk({}),
    walk(max, "t/"),
    walk(max, "t/f1.txt"),
    walk(max, "t/fifo"),
    walk(max, "t/linkdir"),
    walk({ ...max, followDirectorySymlinks: true }, "t/linkdir"),
    walk(max, "t/missing"),
    call("fs/walk", (w) => ({ path: u(w, "t") })),
    call("fs/walk", () => ({ options: max })),
    call("fs/walk", () => null),
  ]);
});

Deno.test("fs/watchMissing and fs/missingChanged match the reference", () =>
  compare(async (w) => {
    await Deno.writeTextFile(`${w}/present`, "");
    await Deno.writeTextFile(`${w}/exists`, "");
  }, [
    call("fs/watchMissing", () => ({ watchId: 1, missing: [] })),
    call("fs/watchMissing", (w) => ({ watchId: 2, missing: [u(w, "exists")] })),
    call("fs/watchMissing", (w) => ({ watchId: 3, missing: [u(w, "m1")], present: u(w, "absent") })),
    call("fs/watchMissing", (w) => ({ watchId: 4, missing: [u(w, "m1")], present: u(w, "present") })),
    call("fs/watchMissing", (w) => ({ watchId: 4, missing: [u(w, "m2")] })),
    call("fs/watchMissing", (w) => ({ watchId: 0, missing: [u(w, "m2")] })),
    call("fs/watchMissing", (w) => ({ watchId: 5, missing: [u(w, "exists"), u(w, "deep/a/b")] })),
    call("fs/watchMissing", (w) => ({
      watchId: 6,
      missing: Array.from({ length: 64 }, (_, i) => u(w, `q${i}`)),
    })),
    call("fs/watchMissing", (w) => ({
      watchId: 7,
      missing: Array.from({ length: 65 }, (_, i) => u(w, `q${i}`)),
    })),
    call("fs/watchMissing", (w) => ({ watchId: 8, missing: [u(w, "deep/a/b")], present: null })),
    // Creating an ancestor of the missing path fires, once.
    { act: (w) => Deno.mkdir(`${w}/deep`) },
    { notifications: 1 },
    { act: (w) => Deno.mkdir(`${w}/deep/a/b`, { recursive: true }) },
    call("fs/watchMissing", (w) => ({ watchId: 9, missing: [u(w, "m3")], present: u(w, "present") })),
    { act: (w) => Deno.remove(`${w}/present`) },
    { notifications: 2 },
    call("fs/watchMissing", (w) => ({ watchId: 10, missing: [u(w, "m4")] })),
    { act: (w) => Deno.symlink("nowhere", `${w}/m4`) },
    { notifications: 3 },
    // A higher id replaces the watch even when it answers false: creating m5 then fires nothing, and
    // the next watch's notification is the only new one.
    call("fs/watchMissing", (w) => ({ watchId: 11, missing: [u(w, "m5")] })),
    call("fs/watchMissing", () => ({ watchId: 12, missing: [] })),
    { act: (w) => Deno.writeTextFile(`${w}/m5`, "") },
    call("fs/watchMissing", (w) => ({ watchId: 13, missing: [u(w, "m6")] })),
    { act: (w) => Deno.writeTextFile(`${w}/m6`, "") },
    { notifications: 4 },
    call("fs/watchMissing", () => ({ watchId: 14, missing: ["file:///nonexistent-root-dir/x/y"] })),
    call("fs/watchMissing", (w) => ({ watchId: 15, missing: [u(w, "x")], present: [] })),
    call("fs/watchMissing", (w) => ({ watchId: "x", missing: [u(w, "x")] }), "code"),
    call("fs/watchMissing", (w) => ({ watchId: -1, missing: [u(w, "x")] })),
    call("fs/watchMissing", (w) => ({ watchId: 1.5, missing: [u(w, "x")] })),
    call("fs/watchMissing", () => ({ watchId: 16, missing: [5] }), "code"),
    call("fs/watchMissing", () => ({ watchId: 16, missing: null })),
    call("fs/watchMissing", () => ({ watchId: 16 })),
    call("fs/watchMissing", () => ({ missing: [] })),
    call("fs/watchMissing", () => null),
  ]));

Deno.test("fs/readFile of a FIFO, device or directory answers at once, as the reference", () =>
  compare(handleFixture, [
    call("fs/readFile", (w) => ({ path: u(w, "fifo") })),
    call("fs/readFile", (w) => ({ path: u(w, "dir") })),
    call("fs/readFile", () => ({ path: "file:///dev/null" })),
    call("fs/readFile", (w) => ({ path: u(w, "link") })),
  ]));

Deno.test("fs/writeFile through a hard link writes in place and keeps the inode, as the reference", () =>
  compare(async (w) => {
    await Deno.writeTextFile(`${w}/a`, "orig");
    await Deno.link(`${w}/a`, `${w}/b`);
  }, [
    { act: (w) => Deno.writeTextFile(`${w}/ino`, String(Deno.statSync(`${w}/a`).ino)) },
    call("fs/writeFile", (w) => ({ path: u(w, "b"), dataBase64: b64("new") })),
    { fact: async (w) => [await read(w, "a"), String(Deno.statSync(`${w}/a`).ino) === await read(w, "ino")] },
  ]));

function sandboxFor(w: string): Json {
  return {
    permissions: {
      type: "managed",
      file_system: {
        type: "restricted",
        entries: [
          { path: { type: "special", value: { kind: "root" } }, access: "read" },
          { path: { type: "special", value: { kind: "project_roots" } }, access: "write" },
        ],
      },
      network: "restricted",
    },
    cwd: u(w, "ws"),
    workspaceRoots: [u(w, "ws")],
    windowsSandboxLevel: "disabled",
  };
}

Deno.test({
  name: "sandboxed fs/open, fs/walk, fs/readFile of a FIFO and hard-link writes match the reference",
  ...requires("bubblewrap"),
  fn: () =>
    compare(async (w) => {
      await Deno.mkdir(`${w}/ws`);
      await Deno.mkdir(`${w}/out`);
      await Deno.writeTextFile(`${w}/out/secret`, "secret\n");
      await Deno.writeTextFile(`${w}/ws/a`, "orig");
      await Deno.link(`${w}/ws/a`, `${w}/ws/b`);
      await new Deno.Command("mkfifo", { args: [`${w}/ws/fifo`] }).output();
    }, [
      call(
        "fs/open",
        (w) => ({ handleId: "o", path: u(w, "out/new"), mode: "replace", sandbox: sandboxFor(w) }),
      ),
      { fact: (w) => read(w, "out/new") },
      call(
        "fs/open",
        (w) => ({ handleId: "i", path: u(w, "ws/new"), mode: "replace", sandbox: sandboxFor(w) }),
      ),
      call("fs/writeBlock", () => ({ handleId: "i", offset: 0, chunk: b64("streamed") })),
      call("fs/close", () => ({ handleId: "i" })),
      { fact: (w) => read(w, "ws/new") },
      call("fs/open", (w) => ({ handleId: "r", path: u(w, "out/secret"), sandbox: sandboxFor(w) })),
      call("fs/readBlock", () => ({ handleId: "r", offset: 0, len: 100 })),
      call("fs/open", (w) => ({ handleId: "m", path: u(w, "out/missing"), sandbox: sandboxFor(w) })),
      call("fs/walk", (w) => ({
        path: u(w, "out"),
        options: { maxDepth: 1, maxDirectories: 10, maxEntries: 10, followDirectorySymlinks: false },
        sandbox: sandboxFor(w),
      })),
      call("fs/readFile", (w) => ({ path: u(w, "ws/fifo"), sandbox: sandboxFor(w) })),
      { act: (w) => Deno.writeTextFile(`${w}/ino`, String(Deno.statSync(`${w}/ws/a`).ino)) },
      call("fs/writeFile", (w) => ({ path: u(w, "ws/b"), dataBase64: b64("new"), sandbox: sandboxFor(w) })),
      {
        fact: async (
          w,
        ) => [await read(w, "ws/a"), String(Deno.statSync(`${w}/ws/a`).ino) === await read(w, "ino")],
      },
    ]),
});
