/**
 * `deno task build`: produces the artifacts to drop on a host.
 *
 * 1. Always: bundles main.ts into `<out>/exec-server.js` (`deno bundle --platform deno --minify
 *    --keep-names`: npm dependencies inlined, `node:` imports kept; minified because every byte is parsed
 *    at each start, ~7 ms per MB, and 1.6 MB -> 1.07 MB cut cold start by ~4 ms; names kept for stack
 *    traces), prefixed with a `deno run` shebang and made executable, then smoke-tests it (`--version`, a
 *    stdio `initialize` round trip, and on Linux a `tty:true` process).
 * 2. Only when the denort runtime is available (`DENORT_BIN` set, or the denort zip already in Deno's cache):
 *    `deno compile -A` of that bundle into `<out>/exec-server`, smoke-tested the same way. A result that is
 *    the plain deno CLI (`DENORT_BIN=$(which deno)`) is detected, deleted, and fails the build.
 * 3. Otherwise prints one `compile: SKIPPED (...)` line and exits 0. Never downloads the runtime.
 *
 * Release mode (`--target T`, repeatable): compiles `<out>/exec-server-<T>` for each target (here `deno compile`
 * may download the runtime), smoke-tests the one matching this host, and with `--checksums` writes
 * `<out>/SHA256SUMS`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SmokeError, smokeTest } from "./build/smoke.ts";

const USAGE = `usage: deno task build [options]

  --out-dir DIR    where to write the artifacts (default: <project>/dist)
  --deno-dir DIR   Deno cache dir to look in for a pre-seeded denort zip, and DENO_DIR for
                   deno compile (default: Deno's cache dir, as \`deno info --json\` reports it)
  --target T       release mode: compile exec-server-T for target T (repeatable; may download
                   the runtime); the host target's binary is smoke-tested
  --checksums      write SHA256SUMS for the artifacts
  -h, --help       show this help

environment: DENORT_BIN (a denort build to compile with), DENO_DIR`;

const BUNDLE_NAME = "exec-server.js";
const BINARY_NAME = "exec-server";
/**
 * V8 flags every launch of the server uses (this shebang, `deno compile`, `deno task serve` in deno.json, and
 * the benchmark's default command). They keep the heap small: a young generation of at most 4 MiB per
 * semi-space (since retained output moved off the heap, 4 MiB measured at parity with 8 MiB on the 200 MB
 * stdout stream, 222-237 MB/s, with a peak of ~19 instead of ~26-30 MiB above the idle server; 1-3 MiB promote
 * in-flight messages and grew the old generation instead), V8's default old-generation limit (a cap such as
 * 1 GiB turns an `fs/readFile` of a several-hundred-MB file into an out-of-memory crash of the whole server:
 * its base64 is held as strings until written), and GC on the main thread (the concurrent GC threads'
 * allocations were ~15 MiB of RSS under a stdout stream, and a 2-CPU host has no core to spare for them).
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--single-threaded-gc";
/** Flags the bundle needs: all permissions (net, run, read, write, env, ffi, sys), no config or lockfile
 * from whatever directory it is started in (the bundle has no npm or remote imports left to resolve), and
 * {@link V8_FLAGS}. */
export const SHEBANG = `#!/usr/bin/env -S deno run -A --no-config --no-lock ${V8_FLAGS}`;

const ROOT = resolve(import.meta.dirname!, "..");
const DENO = Deno.execPath();

class BuildError extends Error {}

function log(line: string): void {
  console.log(line);
}

function displayPath(path: string): string {
  const relative = path.startsWith(ROOT + "/") ? path.slice(ROOT.length + 1) : path;
  return relative;
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} KB`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeIfExists(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs deno with `args`; throws with its output when it fails. */
async function runDeno(args: string[], env: Record<string, string> = {}): Promise<string> {
  const output = await new Deno.Command(DENO, {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  if (!output.success) {
    throw new BuildError(`\`deno ${args.join(" ")}\` failed (exit ${output.code}):\n${text.trim()}`);
  }
  return decoder.decode(output.stdout);
}

/** The environment for running an artifact: ours, with this deno first on PATH (for the bundle's shebang). */
function artifactEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  env.PATH = `${dirname(DENO)}:${env.PATH ?? "/usr/bin:/bin"}`;
  env.NO_COLOR = "1";
  return env;
}

/** Smoke-tests `path` from an empty working directory. */
async function smoke(label: string, path: string, version: string): Promise<void> {
  const cwd = await Deno.makeTempDir({ prefix: "exec-server-smoke-" });
  try {
    const pty = Deno.build.os === "linux";
    await smokeTest([path], {
      version,
      pty,
      cwd,
      env: artifactEnv(),
      log: (line) => log(`${label}: smoke ${line}`),
    });
    if (!pty) log(`${label}: smoke tty process SKIPPED (pty support is Linux-only)`);
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

async function readVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  if (typeof config.version !== "string") throw new BuildError("deno.json has no version");
  return config.version;
}

/**
 * A CommonJS dependency bundled in (yaml's `dist/`) calls `require("node:process")` and
 * `require("node:buffer")`, which an ES module bundle has no `require` for. Deno has both as globals, so a
 * `require` that hands them out is enough, and costs nothing at start (unlike `node:module`'s
 * `createRequire`); any other builtin fails loudly, which the smoke test below catches.
 */
const REQUIRE_SHIM = `var require = (id) => { const builtin = ({ "node:process": globalThis.process, ` +
  `"node:buffer": { Buffer: globalThis.Buffer } })[id]; if (builtin === undefined) ` +
  "throw new Error(`exec-server bundle: require(${id}) is not available`); return builtin; };";

/** Step 1: the bundle. */
async function buildBundle(outDir: string, version: string): Promise<string> {
  const bundlePath = join(outDir, BUNDLE_NAME);
  const rawPath = join(outDir, `.${BUNDLE_NAME}.raw`);
  try {
    await runDeno([
      "bundle",
      "--platform",
      "deno",
      "--minify",
      "--keep-names",
      "--output",
      rawPath,
      join(ROOT, "main.ts"),
    ]);
    let code = await Deno.readTextFile(rawPath);
    if (code.startsWith("#!")) code = code.slice(code.indexOf("\n") + 1);
    await Deno.writeTextFile(bundlePath, `${SHEBANG}\n${REQUIRE_SHIM}\n${code}`);
    await Deno.chmod(bundlePath, 0o755);
  } finally {
    await removeIfExists(rawPath);
  }
  log(`bundle: ${displayPath(bundlePath)} (${megabytes((await Deno.stat(bundlePath)).size)})`);
  try {
    await smoke("bundle", bundlePath, version);
  } catch (error) {
    throw new BuildError(`bundle smoke test failed: ${(error as Error).message}`);
  }
  return bundlePath;
}

/** Where `deno compile` looks for a cached runtime before downloading it. */
async function cachedDenortZip(denoDir: string | undefined, target: string): Promise<string> {
  if (denoDir === undefined) {
    const info = JSON.parse(await runDeno(["info", "--json"]));
    denoDir = info.denoDir as string;
  }
  return join(denoDir, "dl", "release", `v${Deno.version.deno}`, `denort-${target}.zip`);
}

/**
 * Compiles the bundle into `output` (via a temporary name), smoke-tests it when it runs on this host, and
 * renames it into place. On failure nothing is left at `output`.
 */
async function compile(
  bundlePath: string,
  output: string,
  options: { target?: string; denoDir?: string; version: string; runtime?: string },
): Promise<void> {
  const partial = join(dirname(output), `.${basename(output)}.partial`);
  await removeIfExists(output);
  await removeIfExists(partial);
  const label = `compile${options.target ? ` ${options.target}` : ""}`;
  try {
    const args = ["compile", "-A", "--no-config", "--no-lock", V8_FLAGS, "--output", partial];
    if (options.target) args.push("--target", options.target);
    args.push(bundlePath);
    await runDeno(args, options.denoDir ? { DENO_DIR: options.denoDir } : {});
    if (!await exists(partial)) throw new BuildError(`deno compile wrote no ${displayPath(partial)}`);
    if ((options.target ?? Deno.build.target) === Deno.build.target) {
      try {
        await smoke(label, partial, options.version);
      } catch (error) {
        if (error instanceof SmokeError && error.isDenoCli) {
          const detail = `${label}: the compiled binary is the plain deno CLI (${error.message}); ` +
            `runtime: ${options.runtime ?? "downloaded"}; removed ${displayPath(output)}`;
          throw new BuildError(
            Deno.env.get("DENORT_BIN")
              ? `DENORT_BIN must be a denort build, not the deno CLI\n${detail}`
              : `the denort runtime must be a denort build, not the deno CLI\n${detail}`,
          );
        }
        throw new BuildError(`${label}: smoke test failed: ${(error as Error).message}`);
      }
    } else {
      log(`${label}: smoke SKIPPED (this host is ${Deno.build.target})`);
    }
    await Deno.rename(partial, output);
    log(`${label}: ${displayPath(output)} (${megabytes((await Deno.stat(output)).size)})`);
  } finally {
    await removeIfExists(partial);
  }
}

/** Step 2/3: compile for this host if a runtime is available, otherwise say it was skipped. */
async function compileHost(bundlePath: string, outDir: string, denoDir: string | undefined, version: string) {
  const output = join(outDir, BINARY_NAME);
  const denortBin = Deno.env.get("DENORT_BIN");
  let runtime: string;
  if (denortBin) {
    if (!await exists(denortBin)) throw new BuildError(`DENORT_BIN=${denortBin} does not exist`);
    runtime = `DENORT_BIN=${denortBin}`;
  } else {
    const zip = await cachedDenortZip(denoDir, Deno.build.target);
    if (!await exists(zip)) {
      const stale = await removeIfExists(output);
      log(
        `compile: SKIPPED (deno compile needs the denort runtime; set DENORT_BIN or pre-seed ${zip})` +
          (stale ? `; removed stale ${displayPath(output)}` : ""),
      );
      return;
    }
    runtime = `cached ${zip}`;
  }
  log(`compile: runtime ${runtime}`);
  await compile(bundlePath, output, { denoDir, version, runtime });
}

async function writeChecksums(outDir: string, files: string[]): Promise<void> {
  const lines: string[] = [];
  for (const file of files) {
    const hash = createHash("sha256");
    using handle = await Deno.open(file);
    for await (const chunk of handle.readable) hash.update(chunk);
    lines.push(`${hash.digest("hex")}  ${basename(file)}`);
  }
  const path = join(outDir, "SHA256SUMS");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  log(`checksums: ${displayPath(path)} (${files.length} files)`);
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "out-dir": { type: "string" },
      "deno-dir": { type: "string" },
      target: { type: "string", multiple: true },
      checksums: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const outDir = resolve(values["out-dir"] ?? join(ROOT, "dist"));
  const denoDir = values["deno-dir"] ? resolve(values["deno-dir"]) : undefined;
  const version = await readVersion();
  const foreign = (values.target ?? []).filter((target) => target !== Deno.build.target);
  if (Deno.env.get("DENORT_BIN") && foreign.length > 0) {
    throw new BuildError(
      `DENORT_BIN is set, but deno compile would embed it for every --target (${foreign.join(", ")}); ` +
        `unset it for cross-target builds`,
    );
  }
  await Deno.mkdir(outDir, { recursive: true });

  const artifacts = [await buildBundle(outDir, version)];
  if (values.target?.length) {
    for (const target of values.target) {
      const output = join(outDir, `${BINARY_NAME}-${target}`);
      await compile(artifacts[0], output, { target, denoDir, version });
      artifacts.push(output);
    }
  } else {
    await compileHost(artifacts[0], outDir, denoDir, version);
    const binary = join(outDir, BINARY_NAME);
    if (await exists(binary)) artifacts.push(binary);
  }
  if (values.checksums) await writeChecksums(outDir, artifacts);
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (error instanceof BuildError) {
      console.error(error.message);
    } else if (
      error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`build: ${error.message}\n\n${USAGE}`);
    } else {
      console.error(`build: FAILED: ${(error as Error)?.stack ?? error}`);
    }
    code = 1;
  }
  Deno.exit(code);
}
