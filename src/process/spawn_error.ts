/**
 * Spawn failures in the reference's words (`<strerror> (os error N)`), through the one OS-error mapping
 * in `src/protocol/os_error.ts`. Deno reports a few spawn failures without an errno; those are named here.
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { errnoOf, osErrorMessage } from "../protocol/os_error.ts";

const ENOENT = 2;
const EACCES = 13;
const ENOTDIR = 20;

/** Maps a Deno or node spawn error to `<strerror> (os error N)`. */
export function spawnErrorMessage(error: unknown): string {
  const errno = errnoOf(error);
  if (errno !== null) return osErrorMessage(errno);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotFound || /entity not found|No such cwd/.test(message)) {
    return osErrorMessage(ENOENT);
  }
  if (error instanceof Deno.errors.PermissionDenied) return osErrorMessage(EACCES);
  if (/Not a directory/.test(message)) return osErrorMessage(ENOTDIR);
  return message;
}

/**
 * Codex 0.171's `data.kind` for a failed spawn: `spawnNotFound` when the program or the cwd does not
 * exist, `spawnFailed` otherwise. Clients tell "command not found" from other failures by it.
 */
export function withSpawnKind(error: unknown): unknown {
  if (!(error instanceof RpcError) || error.code !== ErrorCode.InternalError || error.data !== undefined) {
    return error;
  }
  const kind = error.message.startsWith(osErrorMessage(ENOENT)) ? "spawnNotFound" : "spawnFailed";
  return new RpcError(error.code, error.message, { data: { kind }, cause: error.cause });
}

/** An `RpcError` with Rust's io::Error text for `errno`, as Deno.Command's spawn errors read. */
export function spawnError(errno: number, cause?: unknown): RpcError {
  return RpcError.internal(osErrorMessage(errno), cause);
}
