/**
 * What the sandbox helper (this program, re-invoked) must be able to read to start when the profile does
 * not make `/` readable: the system's shared libraries, the executable, and, when running from source,
 * the project directory and the Deno cache.
 *
 * @module
 */
import { isCompiledBinary } from "../util/self_command.ts";
import { dirname } from "../util/absolute_path.ts";

const SYSTEM_PATHS = [
  "/usr",
  "/bin",
  "/lib",
  "/lib32",
  "/lib64",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
];
const PROJECT_MARKERS = ["deno.json", "deno.jsonc", "package.json"];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The directory holding a project marker above `file`, or the file's own directory. */
function projectRootOf(file: string): string {
  for (let dir = dirname(file); dir !== "/"; dir = dirname(dir)) {
    if (PROJECT_MARKERS.some((m) => exists(`${dir}/${m}`))) return dir;
  }
  return dirname(file);
}

/** Read-only paths the helper command `argv` needs inside a sandbox whose `/` is not readable. */
export function helperRuntimePaths(argv: string[]): string[] {
  const paths = new Set(SYSTEM_PATHS);
  const [exe, ...rest] = argv;
  if (exe?.startsWith("/")) paths.add(exe);
  if (!isCompiledBinary()) {
    for (const arg of rest) {
      if (arg.startsWith("/") && exists(arg)) paths.add(projectRootOf(arg));
    }
    const home = Deno.env.get("HOME");
    const cache = Deno.env.get("DENO_DIR") ??
      (Deno.env.get("XDG_CACHE_HOME")
        ? `${Deno.env.get("XDG_CACHE_HOME")}/deno`
        : home
        ? `${home}/.cache/deno`
        : null);
    if (cache) paths.add(cache);
  }
  return [...paths];
}
