/**
 * Builds a child's environment from `env` and `envPolicy`, exactly as Codex's `populate_env`:
 * no policy means `env` is the whole environment; with a policy the
 * server's own environment is filtered (inherit, default excludes, exclude, set, includeOnly) and `env`
 * is laid over the result unfiltered.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { EnvPolicy } from "../protocol/env_policy.ts";

/** Variables kept by `inherit: "core"` on Unix (exact, case-sensitive). */
export const CORE_ENV_VARS: readonly string[] = [
  "PATH",
  "SHELL",
  "TMPDIR",
  "TEMP",
  "TMP",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "LOGNAME",
  "USER",
];

/** Names dropped unless `ignoreDefaultExcludes` (so `KEYBOARD` goes too, as in the reference). */
export const DEFAULT_EXCLUDES: readonly string[] = ["*KEY*", "*SECRET*", "*TOKEN*"];

/**
 * Compiles a wildmatch-style glob: `*` any run, `?` one character, nothing else special (`[AB]` is
 * literal), anchored, case-insensitive.
 */
export function compileEnvGlob(pattern: string): RegExp {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[\\s\\S]*";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "iu");
}

function matcher(patterns: readonly string[]): (name: string) => boolean {
  const regexes = patterns.map(compileEnvGlob);
  return (name) => regexes.some((re) => re.test(name));
}

/** The child environment for `process/start`. `serverEnv` defaults to this process's environment. */
export function buildChildEnv(
  env: Record<string, string>,
  policy: EnvPolicy | null | undefined,
  serverEnv: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  checkEnvEntries(env, "env");
  if (policy) checkEnvEntries(policy.set, "envPolicy.set");
  if (!policy) return { ...env };
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(serverEnv)) {
    if (policy.inherit === "all" || (policy.inherit === "core" && CORE_ENV_VARS.includes(name))) {
      result.set(name, value);
    }
  }
  if (!policy.ignoreDefaultExcludes) {
    const excluded = matcher(DEFAULT_EXCLUDES);
    for (const name of [...result.keys()]) if (excluded(name)) result.delete(name);
  }
  if (policy.exclude.length > 0) {
    const excluded = matcher(policy.exclude);
    for (const name of [...result.keys()]) if (excluded(name)) result.delete(name);
  }
  for (const [name, value] of Object.entries(policy.set)) result.set(name, value);
  if (policy.includeOnly.length > 0) {
    const included = matcher(policy.includeOnly);
    for (const name of [...result.keys()]) if (!included(name)) result.delete(name);
  }
  for (const [name, value] of Object.entries(env)) result.set(name, value);
  return Object.fromEntries(result);
}

/**
 * A name with `=` would be split by the child's libc (`{"PATH=/evil": "1"}` reads back as PATH=`/evil=1`),
 * and NUL would truncate it: such entries are refused, not passed on.
 */
function checkEnvEntries(entries: Record<string, string>, where: string): void {
  for (const [name, value] of Object.entries(entries)) {
    if (name === "" || name.includes("=") || name.includes("\0")) {
      throw RpcError.invalidParams(
        `${where}: invalid environment variable name ${JSON.stringify(name)} (names must be non-empty ` +
          "and contain neither '=' nor NUL)",
      );
    }
    if (value.includes("\0")) {
      throw RpcError.invalidParams(`${where}: the value of ${JSON.stringify(name)} contains NUL`);
    }
  }
}
