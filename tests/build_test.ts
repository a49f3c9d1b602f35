/**
 * `deno task build` (scripts/build.ts): the bundle is one self-contained file (it runs from an empty directory
 * with an empty DENO_DIR and no network, and serves the console's xterm.js from inside itself), and the
 * compile step skips cleanly without a runtime and rejects a "runtime" that is really the deno CLI (from
 * DENORT_BIN or from a pre-seeded cache zip).
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { StdioClient } from "../scripts/build/stdio_client.ts";
import XTERM_JS from "@xterm/xterm/lib/xterm.js" with { type: "text" };
import XTERM_CSS from "@xterm/xterm/css/xterm.css" with { type: "text" };

const ROOT = join(import.meta.dirname!, "..");
const DENO = Deno.execPath();
const SHEBANG = "#!/usr/bin/env -S deno run -A --no-config --no-lock " +
  "--v8-flags=--max-semi-space-size=4,--single-threaded-gc";
const DENO_CLI_MESSAGE = "must be a denort build, not the deno CLI";
const VERSION: string = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).version;

interface BuildResult {
  code: number;
  stdout: string;
  stderr: string;
  outDir: string;
}

/** Runs scripts/build.ts into a fresh output dir, looking for a cached runtime only in `denoDir`. */
async function runBuild(options: { denoDir: string; denortBin?: string }): Promise<BuildResult> {
  const outDir = await Deno.makeTempDir({ prefix: "exec-server-build-test-" });
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  if (options.denortBin) env.DENORT_BIN = options.denortBin;
  env.NO_COLOR = "1";
  const output = await new Deno.Command(DENO, {
    args: ["run", "-A", "scripts/build.ts", "--out-dir", outDir, "--deno-dir", options.denoDir],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    outDir,
  };
}

function describe(result: BuildResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

async function listDir(path: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

/** One shared build without any runtime (the normal offline case), made on first use, removed on unload. */
let shared: Promise<{ result: BuildResult; denoDir: string }> | undefined;
const sharedDirs: string[] = [];
function buildWithoutRuntime() {
  shared ??= (async () => {
    const denoDir = await Deno.makeTempDir({ prefix: "exec-server-empty-deno-dir-" });
    sharedDirs.push(denoDir);
    const result = await runBuild({ denoDir });
    sharedDirs.push(result.outDir);
    return { result, denoDir };
  })();
  return shared;
}
globalThis.addEventListener("unload", () => {
  for (const dir of sharedDirs) Deno.removeSync(dir, { recursive: true });
});

/** How to cut a process off the network here: `unshare -n` (as root) or `unshare -rn`, else a skip reason. */
function probeNoNetwork(): { prefix: string[] } | { reason: string } {
  if (Deno.build.os !== "linux") return { reason: `unshare is Linux-only (this is ${Deno.build.os})` };
  const errors: string[] = [];
  for (const prefix of [["unshare", "-n"], ["unshare", "-rn"]]) {
    try {
      const output = new Deno.Command(prefix[0], {
        args: [...prefix.slice(1), "true"],
        stdout: "null",
        stderr: "piped",
      })
        .outputSync();
      if (output.success) return { prefix };
      errors.push(`${prefix.join(" ")}: ${new TextDecoder().decode(output.stderr).trim()}`);
    } catch (error) {
      errors.push(`${prefix.join(" ")}: ${(error as Error).message}`);
    }
  }
  return { reason: `cannot create a network namespace (${errors.join("; ")})` };
}

const noNetwork = probeNoNetwork();
if ("reason" in noNetwork) {
  console.log(`build_test: the self-contained bundle test is ignored: ${noNetwork.reason}`);
}

Deno.test("build: bundles, smoke-tests the bundle, and skips compile with one line when no runtime exists", async () => {
  const { result, denoDir } = await buildWithoutRuntime();
  assert.equal(result.code, 0, describe(result));
  const skipLines = result.stdout.split("\n").filter((line) => line.startsWith("compile:"));
  assert.deepEqual(skipLines, [
    `compile: SKIPPED (deno compile needs the denort runtime; set DENORT_BIN or pre-seed ` +
    `${join(denoDir, "dl", "release", `v${Deno.version.deno}`, `denort-${Deno.build.target}.zip`)})`,
  ]);
  assert.match(
    result.stdout,
    new RegExp(`bundle: smoke --version: exec-server ${VERSION.replaceAll(".", "\\.")}\n`),
  );
  assert.match(result.stdout, /bundle: smoke stdio initialize: sessionId \S+/);
  if (Deno.build.os === "linux") assert.match(result.stdout, /bundle: smoke tty process: \/dev\/pts\/\d+/);
  assert.match(
    result.stdout,
    /bundle: smoke console assets: app\.js \d+ chars, terminal\.js \d+ chars, xterm\.js \d+ chars\n/,
  );

  assert.deepEqual(await listDir(result.outDir), ["exec-server.js"]);
  const bundlePath = join(result.outDir, "exec-server.js");
  assert.equal((await Deno.stat(bundlePath)).mode! & 0o777, 0o755);
  const code = await Deno.readTextFile(bundlePath);
  assert.equal(code.split("\n")[0], SHEBANG);
  // npm packages and our own modules are inlined, and node: built-ins are only imported dynamically where
  // needed: a static node: import loads Deno's Node compatibility layer at startup (~6–10 ms of cold start).
  // The bundle is minified: a statement may start anywhere on a line, after `;` or `}`.
  const statement = /(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w$*{][^;'"()]*?\s*)?from\s*["']([^"']+)["']/g;
  const sideEffect = /(?:^|[;}\n])\s*import\s*["']([^"']+)["']/g;
  const imports = [...code.matchAll(statement), ...code.matchAll(sideEffect)].map((m) => m[1]);
  assert.deepEqual(imports, [], "no static imports left in the bundle");
  assert.doesNotMatch(code, /\bimport\s*\(\s*["'](?:npm:|jsr:|https?:|file:|\.)/);
});

Deno.test({
  name: "build: the bundle alone runs a command from an empty dir, empty DENO_DIR and HOME, without network",
  ignore: "reason" in noNetwork,
  async fn() {
    const { result } = await buildWithoutRuntime();
    assert.equal(result.code, 0, describe(result));
    const host = await Deno.makeTempDir({ prefix: "exec-server-host-" });
    try {
      const work = join(host, "work");
      const home = join(host, "home");
      const denoDir = join(host, "deno-dir");
      await Promise.all([work, home, denoDir].map((dir) => Deno.mkdir(dir)));
      await Deno.copyFile(join(result.outDir, "exec-server.js"), join(work, "exec-server.js"));
      await Deno.chmod(join(work, "exec-server.js"), 0o755);
      assert.deepEqual(await listDir(work), ["exec-server.js"]);

      const prefix = (noNetwork as { prefix: string[] }).prefix;
      const client = new StdioClient({
        command: [...prefix, "./exec-server.js"],
        cwd: work,
        env: { PATH: `${dirname(DENO)}:/usr/bin:/bin`, HOME: home, DENO_DIR: denoDir, NO_COLOR: "1" },
      });
      try {
        const init = await client.request("initialize", { clientName: "build-test" });
        assert.equal(typeof init.result?.sessionId, "string", JSON.stringify(init));
        await client.send({ method: "initialized", params: {} });
        const env = { PATH: "/usr/bin:/bin" };
        const echo = await client.request("process/start", {
          processId: "echo",
          argv: ["echo", "bundled-ok"],
          tty: false,
          cwd: "/tmp",
          env,
        });
        assert.deepEqual(echo.result, { processId: "echo", sandboxType: "none" }, JSON.stringify(echo));
        assert.equal(await client.waitForOutput("echo", /bundled-ok\n/), "bundled-ok\n");
        // The FFI pty code works from the bundle too.
        const tty = await client.request("process/start", {
          processId: "tty",
          argv: ["tty"],
          tty: true,
          cwd: "/tmp",
          env,
        });
        assert.deepEqual(tty.result, { processId: "tty", sandboxType: "none" }, JSON.stringify(tty));
        assert.match(await client.waitForOutput("tty", /\/dev\/pts\/\d+/), /\/dev\/pts\/\d+/);
        // Really offline: the namespace has no route out.
        const net = await client.request("process/start", {
          processId: "net",
          argv: ["cat", "/proc/net/route"],
          tty: false,
          cwd: "/tmp",
          env,
        });
        assert.deepEqual(net.result, { processId: "net", sandboxType: "none" }, JSON.stringify(net));
        await client.waitFor(
          (m) => m.method === "process/closed" && m.params?.processId === "net",
          "net closed",
        );
        assert.equal(client.outputOf("net").trim().split("\n").length, 1, client.outputOf("net"));
      } finally {
        const status = await client.close();
        assert.equal(status.code, 0, `server exit ${status.code}; stderr: ${client.stderr}`);
      }
      assert.deepEqual(await listDir(work), ["exec-server.js"]);
    } finally {
      await Deno.remove(host, { recursive: true });
    }
  },
});

Deno.test("build: the bundle serves the console's xterm.js and style as npm ships them, with an empty DENO_DIR", async () => {
  const { result } = await buildWithoutRuntime();
  assert.equal(result.code, 0, describe(result));
  const host = await Deno.makeTempDir({ prefix: "exec-server-host-" });
  try {
    const [work, home, denoDir] = ["work", "home", "deno-dir"].map((name) => join(host, name));
    await Promise.all([work, home, denoDir].map((dir) => Deno.mkdir(dir)));
    await Deno.copyFile(join(result.outDir, "exec-server.js"), join(work, "exec-server.js"));
    await Deno.chmod(join(work, "exec-server.js"), 0o755);
    const child = new Deno.Command("./exec-server.js", {
      args: ["--listen", "ws://127.0.0.1:0"],
      cwd: work,
      env: { PATH: `${dirname(DENO)}:/usr/bin:/bin`, HOME: home, DENO_DIR: denoDir, NO_COLOR: "1" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let printed = "";
      while (!printed.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the bundle exited before printing its URL: ${printed}`);
        printed += value;
      }
      lines.cancel().catch(() => {});
      const base = printed.split("\n")[0].trim().replace(/^ws:/, "http:");
      const js = await fetch(`${base}/console/xterm.js`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.equal(await js.text(), XTERM_JS.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n"));
      const css = await fetch(`${base}/console/xterm.css`);
      assert.equal(await css.text(), XTERM_CSS);
      // Deno makes an empty npm/ there whatever it runs; nothing was fetched into it.
      const cached = await listDir(denoDir);
      assert.ok(!cached.includes("remote"), `DENO_DIR holds ${cached}`);
      if (cached.includes("npm")) assert.deepEqual(await listDir(join(denoDir, "npm")), []);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  } finally {
    await Deno.remove(host, { recursive: true });
  }
});

Deno.test("build: DENORT_BIN pointing at the deno CLI is detected, reported, and leaves no binary", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "exec-server-empty-deno-dir-" });
  const result = await runBuild({ denoDir, denortBin: DENO });
  try {
    assert.equal(result.code, 1, describe(result));
    assert.ok(result.stderr.includes(`DENORT_BIN ${DENO_CLI_MESSAGE}`), describe(result));
    assert.match(
      result.stdout,
      new RegExp(`compile: runtime DENORT_BIN=${DENO.replaceAll(/[./]/g, "\\$&")}\n`),
    );
    assert.deepEqual(await listDir(result.outDir), ["exec-server.js"]);
  } finally {
    await Deno.remove(result.outDir, { recursive: true });
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test("build: a pre-seeded denort zip in DENO_DIR is used (and a deno CLI inside it is rejected)", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "exec-server-seeded-deno-dir-" });
  const zipDir = join(denoDir, "dl", "release", `v${Deno.version.deno}`);
  const zipPath = join(zipDir, `denort-${Deno.build.target}.zip`);
  await Deno.mkdir(zipDir, { recursive: true });
  await Deno.writeFile(zipPath, storedZip("denort", await Deno.readFile(DENO)));
  const result = await runBuild({ denoDir });
  try {
    assert.equal(result.code, 1, describe(result));
    assert.ok(result.stdout.includes(`compile: runtime cached ${zipPath}\n`), describe(result));
    assert.ok(result.stderr.includes(DENO_CLI_MESSAGE), describe(result));
    assert.doesNotMatch(result.stdout, /SKIPPED/);
    assert.deepEqual(await listDir(result.outDir), ["exec-server.js"]);
  } finally {
    await Deno.remove(result.outDir, { recursive: true });
    await Deno.remove(denoDir, { recursive: true });
  }
});

/** A zip archive holding one uncompressed file (mode 0755), as `deno compile` expects its runtime. */
function storedZip(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const crc = crc32(data);
  const local = new DataView(new ArrayBuffer(30));
  local.setUint32(0, 0x04034b50, true);
  local.setUint16(4, 20, true); // version needed
  local.setUint16(12, 0x21, true); // date: 1980-01-01
  local.setUint32(14, crc, true);
  local.setUint32(18, data.length, true);
  local.setUint32(22, data.length, true);
  local.setUint16(26, nameBytes.length, true);
  const central = new DataView(new ArrayBuffer(46));
  central.setUint32(0, 0x02014b50, true);
  central.setUint16(4, (3 << 8) | 20, true); // made by: unix
  central.setUint16(6, 20, true);
  central.setUint16(14, 0x21, true);
  central.setUint32(16, crc, true);
  central.setUint32(20, data.length, true);
  central.setUint32(24, data.length, true);
  central.setUint16(28, nameBytes.length, true);
  central.setUint32(38, (0o100755 << 16) >>> 0, true); // external attributes: regular file, 0755
  central.setUint32(42, 0, true); // local header offset
  const centralOffset = 30 + nameBytes.length + data.length;
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, 1, true);
  end.setUint16(10, 1, true);
  end.setUint32(12, 46 + nameBytes.length, true);
  end.setUint32(16, centralOffset, true);
  const parts = [new Uint8Array(local.buffer), nameBytes, data, new Uint8Array(central.buffer), nameBytes];
  parts.push(new Uint8Array(end.buffer));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
