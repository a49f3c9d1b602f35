/**
 * Turning an enforced sandbox plan into a bubblewrap command prefix, and finding bubblewrap.
 *
 * Privileges: every sandbox drops all capabilities, the bounding set included (`--cap-drop ALL`), so a
 * server running as root does not hand root's capabilities to the sandbox (bwrap keeps them for uid 0
 * otherwise); bwrap always sets no_new_privs, so setuid binaries and file capabilities give nothing back.
 * Where the kernel allows user namespaces, the sandbox gets its own (`--unshare-user`) and may not create
 * further ones (`--disable-userns`); see {@link userNamespacesUsable}. Without capabilities uid 0 is still
 * the owner of the kernel's tunables, so /proc/sys and /sys are always read-only inside.
 *
 * @module
 */
import { log } from "../util/log.ts";
import type { EnforcedPlan, MountAccess } from "./policy.ts";
import { serverSecretPaths } from "./server_secrets.ts";

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

const userNamespaceProbe = new Map<string, boolean>();

/**
 * Whether `bwrap` can give a sandbox its own user namespace with nested ones disabled: probed once per
 * binary (one short bwrap run). Without user namespaces (`user.max_user_namespaces=0`, a seccomp profile
 * that forbids them) only root can use bwrap at all, and the sandbox then runs in the host's user
 * namespace; it still has no capabilities, and cannot create a user namespace either.
 */
export function userNamespacesUsable(bwrap: string): boolean {
  let usable = userNamespaceProbe.get(bwrap);
  if (usable === undefined) {
    try {
      const probe = new Deno.Command(bwrap, {
        args: [
          ...PRIVILEGE_ARGS,
          "--unshare-user",
          "--disable-userns",
          "--ro-bind",
          "/",
          "/",
          "--",
          bwrap,
          "--version",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      usable = probe.success;
      if (!usable) {
        log.warn(
          `bubblewrap cannot create user namespaces here (${
            new TextDecoder().decode(probe.stderr).trim()
          }); ` +
            "sandboxes run without --unshare-user/--disable-userns (all capabilities are still dropped)",
        );
      }
    } catch {
      usable = false;
    }
    userNamespaceProbe.set(bwrap, usable);
  }
  return usable;
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
  /** Give the sandbox its own user namespace and disable nested ones; default {@link userNamespacesUsable}. */
  userNamespace?: boolean;
  /**
   * Canonical paths of files masked with /dev/null wherever the sandbox could otherwise see them,
   * whatever the plan grants; default {@link serverSecretPaths} (the server's token file and TLS key).
   */
  masks?: readonly string[];
}

/** Always first: namespaces, death with the server, and no privileges. */
const PRIVILEGE_ARGS = ["--die-with-parent", "--unshare-all", "--cap-drop", "ALL"];

/**
 * The argv prefix (`[bwrap, ...options, "--"]`) that runs a command under the plan: `/` read-only, writable
 * or an empty tmpfs; read entries bound read-only, write entries bound writable, deny entries masked
 * (an empty read-only tmpfs over a directory, /dev/null over a file); the server's secret files masked;
 * fresh /dev and /proc, with /proc/sys and /sys read-only whatever the plan says (and no entry binds the
 * host's /proc); every namespace unshared (network shared only when enabled); no capabilities; and the
 * sandbox dies with its parent.
 */
export function bwrapArgv(plan: EnforcedPlan, options: BwrapOptions = {}): string[] {
  const bwrap = options.bwrap ?? findBwrap() ?? "bwrap";
  const args = [bwrap, ...PRIVILEGE_ARGS];
  if (options.userNamespace ?? userNamespacesUsable(bwrap)) args.push("--unshare-user", "--disable-userns");
  if (plan.network) args.push("--share-net");
  if (options.newSession) args.push("--new-session");
  // Kernel tunables are never writable: uid 0 may write most of /proc/sys and /sys without any
  // capability (kernel.core_pattern alone hands out root outside the sandbox).
  if (plan.root === "write") args.push("--bind", "/", "/", "--ro-bind-try", "/sys", "/sys");
  else if (plan.root === "read") args.push("--ro-bind", "/", "/");
  else {
    args.push("--tmpfs", "/");
    for (const path of options.extraReadOnly ?? []) args.push("--ro-bind-try", path, path);
  }
  args.push("--dev", "/dev", "--proc", "/proc", "--ro-bind-try", "/proc/sys", "/proc/sys");
  for (const mount of plan.mounts) {
    const access = mount.access === "write" && isWithin(mount.path, "/sys") ? "read" : mount.access;
    // The sandbox has its own /proc: the host's (other processes, the server's /proc/<pid>/root) never.
    if (access !== "deny" && isWithin(mount.path, "/proc")) continue;
    if (access === "read") args.push("--ro-bind", mount.path, mount.path);
    else if (access === "write") args.push("--bind", mount.path, mount.path);
    else if (mount.isDirectory) args.push("--tmpfs", mount.path, "--remount-ro", mount.path);
    else args.push("--ro-bind", "/dev/null", mount.path);
  }
  for (
    const path of visibleMaskTargets(plan, options.extraReadOnly ?? [], options.masks ?? serverSecretPaths())
  ) {
    args.push("--ro-bind", "/dev/null", path);
  }
  // The tmpfs root itself must not take writes that would silently vanish.
  if (plan.root === "none") args.push("--remount-ro", "/");
  if (options.cwd) args.push("--chdir", options.cwd);
  args.push("--");
  return args;
}

/** One mount in the order bwrap applies them: `source` shows up at `target` (tmpfs: no source). */
interface Layer {
  target: string;
  source: string | null;
  access: MountAccess | "tmpfs";
}

function isWithin(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(`${dir}/`);
}

function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * Where inside the sandbox each file of `masks` (canonical host paths) would be visible: through every
 * mount whose source holds it, unless a later mount covers that spot (a deny entry, or another bind that
 * then yields its own spot). Files that no mount exposes need no mask (none is created in an empty root).
 */
function visibleMaskTargets(plan: EnforcedPlan, extraReadOnly: readonly string[], masks: readonly string[]) {
  if (masks.length === 0) return [];
  const layers: Layer[] = [];
  if (plan.root === "none") {
    layers.push({ target: "/", source: null, access: "tmpfs" });
    for (const path of extraReadOnly) layers.push({ target: path, source: realPathOr(path), access: "read" });
  } else layers.push({ target: "/", source: "/", access: plan.root });
  for (const mount of plan.mounts) {
    const bound = mount.access !== "deny";
    if (bound && isWithin(mount.path, "/proc")) continue; // not mounted (see bwrapArgv)
    layers.push({ target: mount.path, source: bound ? mount.path : null, access: mount.access });
  }
  const targets = new Set<string>();
  for (const secret of masks) {
    layers.forEach((layer, index) => {
      if (layer.source === null || !isWithin(secret, layer.source)) return;
      const rest = layer.source === "/" ? secret : secret.slice(layer.source.length);
      const spot = layer.target === "/" ? rest : `${layer.target}${rest}`;
      const covered = layers.slice(index + 1).some((later) => isWithin(spot, later.target));
      if (!covered) targets.add(spot);
    });
  }
  return [...targets];
}
