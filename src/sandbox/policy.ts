/**
 * From the wire's `sandbox` context to a plan: run directly (no sandbox), or enforce a set of mounts with
 * bubblewrap. The decision follows the reference (section 8.2): no context, `disabled`, `external`,
 * managed `unrestricted`, and managed profiles granting full-disk write run directly; other managed
 * profiles and every legacy profile are enforced.
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import type { PermissionProfile, SandboxContext, SandboxEntry } from "../protocol/sandbox.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { components, joinPath, resolveExistingPrefix } from "../util/absolute_path.ts";
import { DEFAULT_GLOB_SCAN_DEPTH, expandGlob } from "./glob.ts";

/** What an enforced mount grants. */
export type MountAccess = "read" | "write" | "deny";

/** One mount of an enforced plan: a canonical, existing absolute path. */
export interface SandboxMount {
  path: string;
  access: MountAccess;
  /** For `deny`: a directory is masked with an empty read-only tmpfs, anything else with /dev/null. */
  isDirectory: boolean;
}

/** Run without a sandbox. */
export interface DirectPlan {
  kind: "direct";
}

/** Run under bubblewrap with these mounts (ordered: parents first, so more specific entries win). */
export interface EnforcedPlan {
  kind: "enforced";
  /** Access to `/` itself: `none` makes `/` an empty read-only tmpfs with only the mounts in it. */
  root: "none" | "read" | "write";
  mounts: SandboxMount[];
  /** Network enabled (`--share-net`). */
  network: boolean;
  /** The context's `cwd`, when it had one. */
  cwd: string | null;
}

/** The outcome of {@link sandboxPlan}. */
export type SandboxPlan = DirectPlan | EnforcedPlan;

/** Paths a `minimal` entry grants: what a dynamically linked program needs to start. */
const MINIMAL_PATHS = ["/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/etc"];

const DYNAMIC_NEEDS_CWD = "file system sandbox context with dynamic permissions requires cwd";

/** A path an entry applies to before canonicalization, or a glob still to expand. */
interface RawEntry {
  path?: string;
  glob?: string;
  access: MountAccess;
}

/**
 * Decides how an `fs/*` (or `process/start`) request must run. Throws -32602 for a relative `cwd` and
 * -32600 when cwd-relative entries come without `cwd`.
 */
export function sandboxPlan(context: SandboxContext | null | undefined): SandboxPlan {
  if (!context) return { kind: "direct" };
  const profile: PermissionProfile = context.permissions;
  const cwd = context.cwd == null ? null : parseAbsolutePath(context.cwd);

  let entries: SandboxEntry[];
  let network: boolean;
  let globDepth = DEFAULT_GLOB_SCAN_DEPTH;
  if ("type" in profile) {
    if (profile.type === "disabled" || profile.type === "external") return { kind: "direct" };
    const fs = profile.file_system;
    if (fs.type === "unrestricted") return { kind: "direct" };
    entries = fs.entries;
    globDepth = fs.glob_scan_max_depth ?? globDepth;
    network = profile.network === "enabled";
    if (grantsFullDiskWrite(entries)) return { kind: "direct" };
  } else {
    network = profile.network?.enabled ?? false;
    const fs = profile.file_system;
    if (!fs) entries = [];
    else if ("entries" in fs) entries = fs.entries;
    else {
      entries = [
        ...(fs.read ?? []).map((path): SandboxEntry => ({ path: { type: "path", path }, access: "read" })),
        ...(fs.write ?? []).map((path): SandboxEntry => ({ path: { type: "path", path }, access: "write" })),
      ];
    }
  }

  const roots = projectRoots(context, cwd);
  const raw = entries.flatMap((entry) => resolveEntry(entry, cwd, roots));
  return { kind: "enforced", ...buildMounts(raw, globDepth), network, cwd };
}

/** Root write with nothing narrowing it (no read-only or deny entry) is full-disk write. */
function grantsFullDiskWrite(entries: SandboxEntry[]): boolean {
  const isRoot = (e: SandboxEntry) =>
    (e.path.type === "special" && e.path.value.kind === "root") ||
    (e.path.type === "path" && e.path.path === "/");
  return entries.some((e) => isRoot(e) && e.access === "write") && entries.every((e) => e.access === "write");
}

function accessOf(entry: SandboxEntry): MountAccess {
  return entry.access === "none" ? "deny" : entry.access;
}

/**
 * What `project_roots` means: the policy's workspace roots, else the context's, else the cwd (Codex 0.140
 * sends no roots). Null when there is nothing to expand to.
 */
function projectRoots(context: SandboxContext, cwd: string | null): string[] | null {
  const listed = context.policyContext?.workspaceRoots ?? context.workspaceRoots;
  if (listed && listed.length > 0) return listed.map((root) => parseAbsolutePath(root));
  return cwd === null ? null : [cwd];
}

function resolveEntry(entry: SandboxEntry, cwd: string | null, roots: string[] | null): RawEntry[] {
  const access = accessOf(entry);
  const relative = (path: string): string => {
    if (path.startsWith("/")) return path;
    // Codex 0.171 sends entry paths as `file:` URIs.
    if (/^file:/i.test(path)) return parseAbsolutePath(path);
    if (cwd === null) throw new RpcError(ErrorCode.InvalidRequest, DYNAMIC_NEEDS_CWD);
    return joinPath(cwd, path);
  };
  const p = entry.path;
  if (p.type === "path") return [{ path: relative(p.path), access }];
  if (p.type === "glob_pattern") return [{ glob: relative(p.pattern), access }];
  const value = p.value as { kind: string; subpath?: unknown };
  switch (value.kind) {
    case "root":
      return [{ path: "/", access }];
    case "minimal":
      return MINIMAL_PATHS.map((path) => ({ path, access }));
    case "project_roots":
    case "current_working_directory": {
      const bases = value.kind === "project_roots" ? roots : cwd === null ? null : [cwd];
      if (bases === null) throw new RpcError(ErrorCode.InvalidRequest, DYNAMIC_NEEDS_CWD);
      const sub = typeof value.subpath === "string" ? value.subpath : "";
      return bases.map((base) => ({ path: sub.startsWith("/") ? sub : joinPath(base, sub), access }));
    }
    case "tmpdir": {
      const tmp = Deno.env.get("TMPDIR");
      return tmp?.startsWith("/") ? [{ path: tmp, access }] : [];
    }
    case "slash_tmp":
      return [{ path: "/tmp", access }];
    default:
      // Unknown special paths from newer clients are ignored, as the reference does.
      return [];
  }
}

const RANK: Record<MountAccess, number> = { read: 0, write: 1, deny: 2 };

/** Canonical, existing mounts; at equal paths deny beats write beats read; parents mount first. */
function buildMounts(raw: RawEntry[], globDepth: number): Pick<EnforcedPlan, "root" | "mounts"> {
  const byPath = new Map<string, SandboxMount>();
  for (const entry of raw) {
    const paths = entry.glob !== undefined ? expandGlob(entry.glob, globDepth) : [entry.path!];
    for (const path of paths) {
      // Canonical paths: a symlinked root mounts its target, and later lookups agree with the mounts.
      const real = resolveExistingPrefix(path);
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(real);
      } catch {
        continue; // nothing to mount (or mask) at a path that does not exist
      }
      const previous = byPath.get(real);
      if (previous && RANK[previous.access] >= RANK[entry.access]) continue;
      byPath.set(real, { path: real, access: entry.access, isDirectory: info.isDirectory });
    }
  }
  const root = byPath.get("/")?.access;
  byPath.delete("/");
  const mounts = [...byPath.values()].sort((a, b) => components(a.path).length - components(b.path).length);
  return { root: root === undefined || root === "deny" ? "none" : root, mounts };
}
