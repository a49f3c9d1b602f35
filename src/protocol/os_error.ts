/**
 * The one place where OS errors become JSON-RPC errors: the message is the Rust `io::Error` display text
 * (`No such file or directory (os error 2)`) and the code follows the reference's `map_fs_error`.
 *
 * @module
 */
import { ErrorCode, RpcError } from "./errors.ts";

/** glibc `strerror` texts (what Rust prints) for the errnos file operations produce on Linux. */
const STRERROR: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  6: "No such device or address",
  7: "Argument list too long",
  8: "Exec format error",
  5: "Input/output error",
  9: "Bad file descriptor",
  12: "Cannot allocate memory",
  13: "Permission denied",
  16: "Device or resource busy",
  17: "File exists",
  18: "Invalid cross-device link",
  19: "No such device",
  20: "Not a directory",
  21: "Is a directory",
  22: "Invalid argument",
  23: "Too many open files in system",
  24: "Too many open files",
  26: "Text file busy",
  27: "File too large",
  28: "No space left on device",
  29: "Illegal seek",
  30: "Read-only file system",
  31: "Too many links",
  32: "Broken pipe",
  36: "File name too long",
  39: "Directory not empty",
  40: "Too many levels of symbolic links",
  95: "Operation not supported",
  122: "Disk quota exceeded",
};

/** errno values by the `code` Deno puts on its errors. */
const ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  ELOOP: 40,
  EOPNOTSUPP: 95,
  EDQUOT: 122,
};

/** The errno of a Deno error, from its `(os error N)` text or its `code`; `null` when it has none. */
export function errnoOf(error: unknown): number | null {
  if (!(error instanceof Error)) return null;
  const match = /\(os error (\d+)\)/.exec(error.message);
  if (match) return Number(match[1]);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code in ERRNO ? ERRNO[code] : null;
}

/**
 * Rust's `io::Error` display for an errno: `<strerror> (os error N)`. EMFILE and ENFILE say whose limit it
 * is: the client's request was fine, the server (or its host) is out of file descriptors.
 */
export function osErrorMessage(errno: number): string {
  const text = `${STRERROR[errno] ?? `Unknown error ${errno}`} (os error ${errno})`;
  if (errno === 24) {
    return `${text}: too many open files on the server; retry once connections or processes end`;
  }
  if (errno === 23) return `${text}: too many open files on the server's host; retry later`;
  return text;
}

/** An `RpcError` for an errno, with the reference's code mapping. */
export function errnoToRpcError(errno: number): RpcError {
  return new RpcError(codeForErrno(errno), osErrorMessage(errno));
}

function codeForErrno(errno: number): number {
  if (errno === 2) return ErrorCode.NotFound;
  if (errno === 1 || errno === 13 || errno === 22) return ErrorCode.InvalidRequest;
  return ErrorCode.InternalError;
}

/**
 * Maps anything a file operation threw to an `RpcError`: `RpcError`s pass through; OS errors get the Rust
 * text; NotFound is -32004, PermissionDenied and InvalidInput are -32600, everything else -32603.
 */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  // Rust's InvalidInput for a NUL byte in a path (Deno raises a TypeError carrying EINVAL).
  if (error instanceof TypeError && /NUL byte/i.test(error.message)) {
    return new RpcError(ErrorCode.InvalidRequest, "file name contained an unexpected NUL byte");
  }
  const errno = errnoOf(error);
  if (errno !== null) return errnoToRpcError(errno);
  // Errors without an errno (raised by Deno itself): classify by class, keep the message.
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotFound) return new RpcError(ErrorCode.NotFound, message);
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new RpcError(ErrorCode.InvalidRequest, message);
  }
  return new RpcError(ErrorCode.InternalError, message);
}

/** Runs `fn`, turning whatever it throws into an `RpcError` via {@link toRpcError}. */
export async function mapOsErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toRpcError(error);
  }
}
