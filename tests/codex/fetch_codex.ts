/**
 * Fetches and caches the native Codex CLI binary used by the end-to-end tests.
 *
 * The binary comes from the npm registry (`@openai/codex@<version>-linux-x64`), fetched with
 * `npm pack` and unpacked into a per-version cache directory. Run as a script to pre-fetch:
 *
 * ```sh
 * deno run -A tests/codex/fetch_codex.ts 0.140.0 0.169.0 0.171.0
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { homedir } from "node:os";

/** Codex CLI versions the tests know how to fetch. */
export const CODEX_VERSIONS = ["0.140.0", "0.169.0", "0.171.0"] as const;

/** One of {@link CODEX_VERSIONS}. */
export type CodexVersion = typeof CODEX_VERSIONS[number];

/** Path of the native binary inside the npm tarball's `package/` directory. */
const BINARY_IN_PACKAGE = "vendor/x86_64-unknown-linux-musl/bin/codex";

/** Cache root: `$EXEC_SERVER_TEST_CACHE`, else `~/.cache/exec-server-tests`. */
export function cacheRoot(): string {
  const fromEnv = Deno.env.get("EXEC_SERVER_TEST_CACHE");
  if (fromEnv && fromEnv.trim() !== "") return fromEnv;
  return join(homedir(), ".cache", "exec-server-tests");
}

/**
 * Returns the path to the native `codex` executable of `version`, downloading it on first use.
 *
 * Safe under concurrency (several test processes at once): each caller unpacks into its own temp
 * directory inside the cache and renames it into place; a losing rename just discards its copy.
 */
export function codexBinary(version: CodexVersion): Promise<string> {
  // One download per process even when several tests ask at once.
  let pending = inProcess.get(version);
  if (!pending) {
    pending = fetchOnce(version);
    inProcess.set(version, pending);
    pending.catch(() => inProcess.delete(version)); // let a later call retry
  }
  return pending;
}

const inProcess = new Map<CodexVersion, Promise<string>>();

async function fetchOnce(version: CodexVersion): Promise<string> {
  const root = cacheRoot();
  const finalDir = join(root, `codex-${version}`);
  const binary = join(finalDir, "package", BINARY_IN_PACKAGE);
  if (await isFile(binary)) return binary;

  await Deno.mkdir(root, { recursive: true });
  // Temp dir on the same filesystem as the cache so the final rename is atomic.
  const tmp = await Deno.makeTempDir({ dir: root, prefix: `.tmp-codex-${version}-` });
  try {
    await run(
      "npm",
      ["pack", "--silent", `@openai/codex@${version}-linux-x64`, "--pack-destination", tmp],
      tmp,
    );
    const tarball = [...Deno.readDirSync(tmp)].find((e) => e.isFile && e.name.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack produced no tarball in ${tmp}`);
    const unpackDir = join(tmp, "unpacked");
    await Deno.mkdir(unpackDir);
    await run("tar", ["-xzf", join(tmp, tarball.name), "-C", unpackDir], tmp);
    const unpackedBinary = join(unpackDir, "package", BINARY_IN_PACKAGE);
    if (!(await isFile(unpackedBinary))) {
      throw new Error(`tarball ${tarball.name} has no ${BINARY_IN_PACKAGE}`);
    }
    await Deno.chmod(unpackedBinary, 0o755);
    try {
      await Deno.rename(unpackDir, finalDir);
    } catch (err) {
      // Another caller finished first: its copy is as good as ours.
      if (!(await isFile(binary))) throw err;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  if (!(await isFile(binary))) throw new Error(`codex ${version} not found at ${binary} after download`);
  return binary;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${stderr}`);
  }
}

if (import.meta.main) {
  const versions = Deno.args.length > 0 ? Deno.args : ["0.140.0"];
  for (const v of versions) {
    if (!(CODEX_VERSIONS as readonly string[]).includes(v)) {
      console.error(`unsupported codex version: ${v}`);
      Deno.exit(2);
    }
    const started = performance.now();
    const path = await codexBinary(v as CodexVersion);
    console.log(`codex ${v}: ${path} (${Math.round(performance.now() - started)} ms)`);
  }
}
