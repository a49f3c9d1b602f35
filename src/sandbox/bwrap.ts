/**
 * Turning an enforced sandbox plan into a bubblewrap command prefix, and finding bubblewrap.
 *
 * @module
 */
import type { EnforcedPlan } from "./policy.ts";

/** Finds the bubblewrap binary: `path` if it contains a slash, else a `PATH` lookup; `null` if absent. */
export function findBwrap(path = "bwrap"): string | null {
  const candidates = path.includes("/")
    ? [path]
    : (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "").map((d) => `${d}/${path}`);
  for (const candidate of candidates) {
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** True when bubblewrap can be found (see {@link findBwrap}). */
export function bwrapAvailable(path?: string): boolean {
  return findBwrap(path) !== null;
}

/** Options for {@link bwrapArgv}. */
export interface BwrapOptions {
  /** Working directory inside the sandbox (`--chdir`). */
  cwd?: string;
  /** The bwrap binary put at argv[0]; default: found on `PATH`, else `"bwrap"`. */
  bwrap?: string;
  /**
   * Extra read-only paths mounted before the plan's own entries (which can still narrow them): what the
   * sandboxed program itself needs to start when `/` is not readable. Missing ones are skipped.
   */
  extraReadOnly?: string[];
  /** Start the command in a new session (`--new-session`): no controlling terminal, so no TIOCSTI. */
  newSession?: boolean;
}

/**
 * The argv prefix (`[bwrap, ...options, "--"]`) that runs a command under the plan: `/` read-only, writable
 * or an empty tmpfs; read entries bound read-only, write entries bound writable, deny entries masked
 * (an empty read-only tmpfs over a directory, /dev/null over a file); fresh /dev and /proc; every namespace
 * unshared (network shared only when enabled); and the sandbox dies with its parent.
 */
export function bwrapArgv(plan: EnforcedPlan, options: BwrapOptions = {}): string[] {
  // Root keeps every capability inside bwrap unless told otherwise: it could remount / writable or
  // unmount a deny mask. Drop them all (bwrap also sets no_new_privs, so setuid binaries gain nothing).
  const args = [
    options.bwrap ?? findBwrap() ?? "bwrap",
    "--die-with-parent",
    "--unshare-all",
    "--cap-drop",
    "ALL",
  ];
  if (plan.network) args.push("--share-net");
  if (options.newSession) args.push("--new-session");
  if (plan.root === "write") args.push("--bind", "/", "/");
  else if (plan.root === "read") args.push("--ro-bind", "/", "/");
  else {
    args.push("--tmpfs", "/");
    for (const path of options.extraReadOnly ?? []) args.push("--ro-bind-try", path, path);
  }
  args.push("--dev", "/dev", "--proc", "/proc");
  for (const mount of plan.mounts) {
    if (mount.access === "read") args.push("--ro-bind", mount.path, mount.path);
    else if (mount.access === "write") args.push("--bind", mount.path, mount.path);
    else if (mount.isDirectory) args.push("--tmpfs", mount.path, "--remount-ro", mount.path);
    else args.push("--ro-bind", "/dev/null", mount.path);
  }
  // The tmpfs root itself must not take writes that would silently vanish.
  if (plan.root === "none") args.push("--remount-ro", "/");
  if (options.cwd) args.push("--chdir", options.cwd);
  args.push("--");
  return args;
}
