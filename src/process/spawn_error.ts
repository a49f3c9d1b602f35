/**
 * Spawn failures in the reference's words: the Rust io::Error text `<strerror> (os error N)`.
 *
 * @module
 */

const ERRNO_TEXT: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  7: "Argument list too long",
  8: "Exec format error",
  12: "Cannot allocate memory",
  13: "Permission denied",
  20: "Not a directory",
  21: "Is a directory",
  24: "Too many open files",
  26: "Text file busy",
};

/** Maps a Deno or node spawn error to `<strerror> (os error N)`. */
export function spawnErrorMessage(error: unknown, _cwd?: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const osError = /\(os error (\d+)\)/.exec(message);
  if (osError) {
    const errno = Number(osError[1]);
    return `${
      ERRNO_TEXT[errno] ?? message.replace(/^.*?: /, "").replace(/ \(os error \d+\)$/, "")
    } (os error ${errno})`;
  }
  if (error instanceof Deno.errors.NotFound || /ENOENT|entity not found|No such cwd/.test(message)) {
    return "No such file or directory (os error 2)";
  }
  if (error instanceof Deno.errors.PermissionDenied || /EACCES/.test(message)) {
    return "Permission denied (os error 13)";
  }
  if (/ENOTDIR|Not a directory/.test(message)) return "Not a directory (os error 20)";
  return message;
}
