import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MAIN_TS, startInProcessServer, startWebSocketServer } from "./support/servers.ts";
import { runCli } from "./client_test_util.ts";

/** A temp dir with an in-process server; `config` names it `box`. */
async function withServer(fn: (ctx: { dir: string; url: string; config: string }) => Promise<void>) {
  const server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "cli-cp-" });
  const config = `${dir}/environments.toml`;
  await Deno.writeTextFile(config, `[[environments]]\nid = "box"\nurl = "${server.url}"\n`);
  try {
    await fn({ dir, url: server.url!, config });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every entry under `root`, sorted: kind, executable bit, and content digest or link target. */
async function describeTree(root: string): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (relative: string) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${root}/${relative}`)) names.push(entry.name);
    for (const name of names.sort()) {
      const path = `${root}/${relative}${name}`;
      const info = await Deno.lstat(path);
      if (info.isSymlink) lines.push(`${relative}${name} link -> ${await Deno.readLink(path)}`);
      else if (info.isDirectory) {
        lines.push(`${relative}${name}/ dir`);
        await visit(`${relative}${name}/`);
      } else {
        const exec = (info.mode! & 0o111) !== 0 ? "exec" : "plain";
        lines.push(`${relative}${name} ${exec} ${sha256(await Deno.readFile(path))}`);
      }
    }
  };
  await visit("");
  return lines;
}

/** A tree with nested and empty directories, an executable, relative, absolute and dangling links. */
async function makeTree(root: string): Promise<void> {
  await Deno.mkdir(`${root}/sub/deeper/deepest`, { recursive: true });
  await Deno.mkdir(`${root}/empty`);
  await Deno.mkdir(`${root}/sub/empty too`);
  await Deno.writeTextFile(`${root}/top.txt`, "top\n");
  await Deno.writeFile(`${root}/sub/deeper/deepest/blob.bin`, crypto.getRandomValues(new Uint8Array(50_000)));
  await Deno.writeFile(`${root}/sub/zero`, new Uint8Array());
  await Deno.writeTextFile(`${root}/sub/tool.sh`, "#!/bin/sh\necho tool\n");
  await Deno.chmod(`${root}/sub/tool.sh`, 0o755);
  await Deno.writeTextFile(`${root}/sub/deeper/only-owner-exec`, "x");
  await Deno.chmod(`${root}/sub/deeper/only-owner-exec`, 0o744);
  await Deno.symlink("../top.txt", `${root}/sub/to-top`);
  await Deno.symlink("deeper", `${root}/sub/dir-link`);
  await Deno.symlink("/nonexistent/target", `${root}/dangling`);
}

Deno.test("cp -r copies a tree up and back keeping exec bits, empty and nested dirs, and symlinks as links", async () => {
  await withServer(async ({ dir, config, url }) => {
    await makeTree(`${dir}/tree`);
    await Deno.mkdir(`${dir}/remote`);
    const up = await runCli(["cp", "-r", "--config", config, `${dir}/tree`, `box:${dir}/remote`]);
    assert.equal(up.code, 0, up.stderr);
    const expected = await describeTree(`${dir}/tree`);
    assert.ok(
      expected.includes("sub/tool.sh exec " + sha256(await Deno.readFile(`${dir}/tree/sub/tool.sh`))),
    );
    assert.deepEqual(await describeTree(`${dir}/remote/tree`), expected);

    // Back down, into a new name (the destination does not exist: it becomes the copy), over --url.
    const down = await runCli(["cp", "--recursive", "--url", url, `:${dir}/remote/tree`, `${dir}/back`]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await describeTree(`${dir}/back`), expected);
    assert.equal(down.stdout, "");
    assert.equal(down.stderr, "", "no progress bar when stderr is not a terminal");

    // Again into the existing directory: merged in place, links replaced, no temporary files left behind.
    const again = await runCli(["cp", "-r", "--url", url, `:${dir}/remote/tree/`, `${dir}/back/`]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await describeTree(`${dir}/back/tree`), expected);
    assert.ok(!(await describeTree(dir)).some((line) => line.includes(".exec-server-cp.")));
  });
});

Deno.test("cp of a single executable file keeps its exec bit both ways", async () => {
  await withServer(async ({ dir, url }) => {
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/tool`, 0o755);
    await Deno.mkdir(`${dir}/remote`);
    assert.equal((await runCli(["cp", "--url", url, `${dir}/tool`, `:${dir}/remote/`])).code, 0);
    assert.notEqual((await Deno.stat(`${dir}/remote/tool`)).mode! & 0o111, 0);
    assert.equal((await runCli(["cp", "--url", url, `:${dir}/remote/tool`, `${dir}/tool2`])).code, 0);
    assert.notEqual((await Deno.stat(`${dir}/tool2`)).mode! & 0o111, 0);
    await Deno.writeTextFile(`${dir}/plain`, "p");
    await Deno.chmod(`${dir}/plain`, 0o644);
    assert.equal((await runCli(["cp", "--url", url, `${dir}/plain`, `:${dir}/remote/plain`])).code, 0);
    assert.equal((await Deno.stat(`${dir}/remote/plain`)).mode! & 0o111, 0);
  });
});

Deno.test("cp with several sources copies each into the destination directory, which must be one", async () => {
  await withServer(async ({ dir, config }) => {
    await Deno.writeTextFile(`${dir}/a`, "A");
    await Deno.writeTextFile(`${dir}/b`, "B");
    await makeTree(`${dir}/t`);
    await Deno.mkdir(`${dir}/remote`);
    const up = await runCli([
      "cp",
      "-r",
      "--config",
      config,
      `${dir}/a`,
      `${dir}/b`,
      `${dir}/t`,
      `box:${dir}/remote/`,
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/remote/a`), "A");
    assert.equal(await Deno.readTextFile(`${dir}/remote/b`), "B");
    assert.deepEqual(await describeTree(`${dir}/remote/t`), await describeTree(`${dir}/t`));

    await Deno.mkdir(`${dir}/down`);
    const down = await runCli([
      "cp",
      "--config",
      config,
      `box:${dir}/remote/a`,
      `box:${dir}/remote/b`,
      `${dir}/down`,
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(
      await describeTree(`${dir}/down`),
      await describeTree(`${dir}/remote`).then((l) => l.slice(0, 2)),
    );

    const notDirectory = await runCli([
      "cp",
      "--config",
      config,
      `${dir}/a`,
      `${dir}/b`,
      `box:${dir}/remote/a`,
    ]);
    assert.equal(notDirectory.code, 1);
    assert.match(notDirectory.stderr, new RegExp(`box:${dir}/remote/a: Not a directory`));
    const missing = await runCli(["cp", "--config", config, `${dir}/a`, `${dir}/b`, `box:${dir}/nowhere`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`box:${dir}/nowhere: No such directory`));

    // One missing source among several: named, the others still copied, exit 1.
    await Deno.mkdir(`${dir}/partial`);
    const partial = await runCli([
      "cp",
      "--config",
      config,
      `box:${dir}/remote/a`,
      `box:${dir}/gone`,
      `box:${dir}/remote/b`,
      `${dir}/partial`,
    ]);
    assert.equal(partial.code, 1);
    assert.equal(partial.stderr, `exec-server cp: box:${dir}/gone: No such file or directory\n`);
    assert.deepEqual([...Deno.readDirSync(`${dir}/partial`)].map((e) => e.name).sort(), ["a", "b"]);
  });
});

Deno.test("cp resolves relative and ~/ remote paths against the server's HOME", async () => {
  const home = await Deno.makeTempDir({ prefix: "cli-cp-home-" });
  const out = await Deno.makeTempDir({ prefix: "cli-cp-out-" });
  const server = await startWebSocketServer([], { HOME: home });
  try {
    await Deno.writeTextFile(`${home}/up.txt`, "up");
    const relative = await runCli(["cp", "--url", server.url!, `${home}/up.txt`, ":rel.txt"]);
    assert.equal(relative.code, 0, relative.stderr);
    assert.equal(await Deno.readTextFile(`${home}/rel.txt`), "up");
    await Deno.mkdir(`${home}/sub`);
    const tilde = await runCli(["cp", "--url", server.url!, `${home}/up.txt`, ":~/sub/"]);
    assert.equal(tilde.code, 0, tilde.stderr);
    assert.equal(await Deno.readTextFile(`${home}/sub/up.txt`), "up");
    await Deno.writeTextFile(`${out}/plain.txt`, "plain");
    const bare = await runCli(["cp", "--url", server.url!, `${out}/plain.txt`, ":"]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(await Deno.readTextFile(`${home}/plain.txt`), "plain");

    const down = await runCli(["cp", "--url", server.url!, ":~/sub/up.txt", `${out}/got.txt`]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await Deno.readTextFile(`${out}/got.txt`), "up");
    const tree = await runCli(["cp", "-r", "--url", server.url!, ":sub", `${out}/subcopy`]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.equal(await Deno.readTextFile(`${out}/subcopy/up.txt`), "up");
    const missing = await runCli(["cp", "--url", server.url!, ":~/absent", out]);
    assert.equal(missing.stderr, `exec-server cp: :${home}/absent: No such file or directory\n`);
  } finally {
    await server.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cp errors name the path in plain words, without JSON-RPC codes", async () => {
  await withServer(async ({ dir, config }) => {
    const missing = await runCli(["cp", "--config", config, "box:/nonexistent/f", dir]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "exec-server cp: box:/nonexistent/f: No such file or directory\n");

    await Deno.mkdir(`${dir}/d`);
    const directory = await runCli(["cp", "--config", config, `${dir}/d`, `box:${dir}/e`]);
    assert.equal(directory.code, 1);
    assert.equal(directory.stderr, `exec-server cp: ${dir}/d is a directory (use -r)\n`);
    const remoteDirectory = await runCli(["cp", "--config", config, `box:${dir}/d`, `${dir}/e`]);
    assert.equal(remoteDirectory.stderr, `exec-server cp: box:${dir}/d is a directory (use -r)\n`);

    await Deno.writeTextFile(`${dir}/f`, "f");
    const noParent = await runCli(["cp", "--config", config, `${dir}/f`, "box:/nonexistent/dir/f"]);
    assert.equal(noParent.code, 1);
    assert.equal(noParent.stderr, "exec-server cp: box:/nonexistent/dir/f: No such file or directory\n");

    const localMissing = await runCli(["cp", "--config", config, `${dir}/nope`, `box:${dir}/x`]);
    assert.equal(localMissing.code, 1);
    assert.equal(localMissing.stderr, `exec-server cp: ${dir}/nope: No such file or directory\n`);

    for (const result of [missing, directory, remoteDirectory, noParent, localMissing]) {
      assert.doesNotMatch(result.stderr, /-32\d{3}|rejected request|os error/);
    }

    const noUrl = await runCli(["cp", `${dir}/f`, ":/tmp/x"]);
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /`:\/tmp\/x` names the --url server, but no --url was given/);
  });
});

/** Spawns the CLI (not waiting for it). */
function spawnCli(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN_TS, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** Resolves with the first temporary file of `name` created in `dir` (inotify; bounded by the copy). */
async function firstTemporary(watcher: Deno.FsWatcher, name: string): Promise<string> {
  for await (const event of watcher) {
    const hit = event.paths.find((path) => path.split("/").pop()!.startsWith(`.${name}.exec-server-cp.`));
    if (hit) return hit;
  }
  throw new Error("watcher ended before a temporary file appeared");
}

Deno.test("cp writes under a temporary name and renames at the end, in both directions", async () => {
  await withServer(async ({ dir, url }) => {
    const big = new Uint8Array(24 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(`${dir}/big.bin`, big);
    for (
      const [label, source, target] of [
        ["up", `${dir}/big.bin`, `:${dir}/up`],
        ["down", `:${dir}/big.bin`, `${dir}/down`],
      ]
    ) {
      await Deno.mkdir(`${dir}/${label}`);
      const watcher = Deno.watchFs(`${dir}/${label}`);
      const child = spawnCli(["cp", "--url", url, "--piece-bytes", "65536", source, target]);
      const temporary = await firstTemporary(watcher, "big.bin");
      child.kill("SIGSTOP");
      watcher.close();
      // Paused mid-copy: only the temporary name exists.
      assert.deepEqual([...Deno.readDirSync(`${dir}/${label}`)].map((e) => e.name), [
        temporary.split("/").pop(),
      ]);
      child.kill("SIGCONT");
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, 0, label);
      assert.deepEqual([...Deno.readDirSync(`${dir}/${label}`)].map((e) => e.name), ["big.bin"]);
      assert.equal(sha256(await Deno.readFile(`${dir}/${label}/big.bin`)), sha256(big));
    }
  });
});

Deno.test("cp that loses its server mid-copy leaves nothing under the real name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-cp-lost-" });
  const server = await startWebSocketServer();
  try {
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(24 * 1024 * 1024));
    await Deno.mkdir(`${dir}/remote`);
    const watcher = Deno.watchFs(`${dir}/remote`);
    const child = spawnCli([
      "cp",
      "--url",
      server.url!,
      "--piece-bytes",
      "65536",
      `${dir}/big.bin`,
      `:${dir}/remote/`,
    ]);
    await firstTemporary(watcher, "big.bin");
    watcher.close();
    server.child.kill("SIGKILL");
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(status.code, 255, stderr);
    assert.match(stderr, /disconnected|closed/);
    await assert.rejects(Deno.stat(`${dir}/remote/big.bin`), Deno.errors.NotFound);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp interrupted by Ctrl-C removes its temporary file and exits 130", async () => {
  await withServer(async ({ dir, url }) => {
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(24 * 1024 * 1024));
    for (
      const [label, source, target] of [
        ["up", `${dir}/big.bin`, `:${dir}/up/`],
        ["down", `:${dir}/big.bin`, `${dir}/down/`],
      ]
    ) {
      await Deno.mkdir(`${dir}/${label}`);
      const watcher = Deno.watchFs(`${dir}/${label}`);
      const child = spawnCli(["cp", "--url", url, "--piece-bytes", "65536", source, target]);
      await firstTemporary(watcher, "big.bin");
      watcher.close();
      child.kill("SIGINT");
      const status = await child.status;
      const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      assert.equal(status.code, 130, stderr);
      assert.match(stderr, /big\.bin: interrupted/);
      assert.deepEqual([...Deno.readDirSync(`${dir}/${label}`)], [], label);
    }
  });
});

Deno.test("cp -r over an existing copy replaces links rather than writing through them, and refuses a directory in a file's place", async () => {
  await withServer(async ({ dir, url }) => {
    await Deno.mkdir(`${dir}/t`);
    await Deno.writeTextFile(`${dir}/t/file`, "new");
    await Deno.mkdir(`${dir}/outside`);
    await Deno.writeTextFile(`${dir}/outside/victim`, "keep");
    for (
      const [label, source, target] of [
        ["up", `${dir}/t`, `:${dir}/up`],
        ["down", `:${dir}/t`, `${dir}/down`],
      ]
    ) {
      // Where the copy goes, `file` is a link to a file outside: it is replaced, the outside file untouched.
      await Deno.mkdir(`${dir}/${label}/t`, { recursive: true });
      await Deno.symlink(`${dir}/outside/victim`, `${dir}/${label}/t/file`);
      const over = await runCli(["cp", "-r", "--url", url, source, target]);
      assert.equal(over.code, 0, over.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/outside/victim`), "keep", label);
      assert.equal((await Deno.lstat(`${dir}/${label}/t/file`)).isFile, true, label);
      assert.equal(await Deno.readTextFile(`${dir}/${label}/t/file`), "new", label);

      // A directory where the file goes: named, exit 1, nothing written into it.
      await Deno.remove(`${dir}/${label}/t/file`);
      await Deno.mkdir(`${dir}/${label}/t/file`);
      const blocked = await runCli(["cp", "-r", "--url", url, source, target]);
      assert.equal(blocked.code, 1, label);
      const shown = label === "up" ? `:${dir}/up/t/file` : `${dir}/down/t/file`;
      assert.match(
        blocked.stderr,
        new RegExp(`^exec-server cp: ${shown}: (Is a directory|.*directory.*)\\n$`),
      );
      assert.deepEqual([...Deno.readDirSync(`${dir}/${label}/t/file`)], [], label);
      assert.deepEqual([...Deno.readDirSync(`${dir}/${label}/t`)].map((e) => e.name), ["file"], label);
    }
  });
});

Deno.test("cp copies a file whose name is as long as the file system allows", async () => {
  await withServer(async ({ dir, url }) => {
    const name = "n".repeat(255);
    await Deno.writeTextFile(`${dir}/${name}`, "long");
    await Deno.mkdir(`${dir}/up`);
    const up = await runCli(["cp", "--url", url, `${dir}/${name}`, `:${dir}/up/`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/up/${name}`), "long");
  });
});
