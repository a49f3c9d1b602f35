/**
 * Paths as the server's dialect wants them. Codex 0.140 servers take native paths; 0.169+ servers (which
 * send `environmentInfo`, as ours does) take only `file://` URIs and answer a plain path with
 * `-32602 invalid URI`. Ours takes both, so URIs are safe wherever `environmentInfo` was sent.
 *
 * @module
 */
import type { EnvironmentInfoResult } from "../protocol/environment.ts";
import { toFileUri } from "../protocol/paths.ts";

/** `path` for a server that sent `info` (null: a 0.140 server, paths go as given). */
export function wirePath(path: string, info: EnvironmentInfoResult | null): string {
  if (info?.cwd === undefined || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return path;
  if (path.startsWith("/")) return toFileUri(path);
  // Relative: against the server's cwd, as a 0.140 server resolves it.
  const base = info.cwd.endsWith("/") ? info.cwd : `${info.cwd}/`;
  return new URL(path, base).href;
}
