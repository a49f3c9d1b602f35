/**
 * File-descriptor calls libc offers and Deno does not: close-on-exec pipes for a child's stdio (optionally
 * enlarged), duplicates, non-blocking writes with a poll for writability, `access(X_OK)` and an fd's inode.
 *
 * @module
 */
import {
  cString,
  encoder,
  F_DUPFD_CLOEXEC,
  libc,
  LibcError,
  NulByteError,
  O_CLOEXEC,
  O_NONBLOCK,
} from "./libc.ts";

const X_OK = 1;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;

/** A close-on-exec duplicate of `fd` (`fcntl(F_DUPFD_CLOEXEC)`); both share one open file description. */
export function dupFd(fd: number): number {
  const copy = libc().fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw new Error(`fcntl(F_DUPFD_CLOEXEC) failed on fd ${fd}`);
  return copy;
}

/**
 * One `write(2)` on a non-blocking fd: the number of bytes the kernel took, or -1 when it took none (the
 * queue is full, or the other side is gone; {@link waitWritable} tells which).
 */
export function writeNonBlocking(fd: number, data: Uint8Array<ArrayBuffer>): number {
  return Number(libc().write(fd, data, BigInt(data.length)));
}

/**
 * Waits on a worker thread (at most `timeoutMs`) until `fd` accepts writes: `"ready"`, `"timeout"`, or
 * `"closed"` when the fd reports hang-up or error (for a pty master: no process holds the slave any more).
 */
export async function waitWritable(fd: number, timeoutMs: number): Promise<"ready" | "timeout" | "closed"> {
  const pollfd = new DataView(new ArrayBuffer(8)); // struct pollfd { int fd; short events; short revents; }
  pollfd.setInt32(0, fd, true);
  pollfd.setInt16(4, POLLOUT, true);
  const rc = await libc().poll(new Uint8Array(pollfd.buffer), 1n, timeoutMs);
  const revents = pollfd.getInt16(6, true);
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) return "closed";
  if (rc > 0 && revents & POLLOUT) return "ready";
  return "timeout"; // also EINTR (rc < 0): the caller simply polls again
}

/** Closes a file descriptor (ignoring errors: only used on fds we own). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** `access(path, X_OK) == 0`: what the kernel would allow `execve` to try (root, groups and ACLs included). */
export function isExecutable(path: string): boolean {
  // A reused buffer: a PATH search makes one call per entry, on the spawn's critical path.
  if (path.length * 3 < pathScratch.length) {
    const { written } = encoder.encodeInto(path, pathScratch);
    if (pathScratch.subarray(0, written).includes(0)) throw new NulByteError("path");
    pathScratch[written] = 0;
    return libc().access(pathScratch, X_OK) === 0;
  }
  return libc().access(cString(path, "path"), X_OK) === 0;
}

const pathScratch = new Uint8Array(4096);

/**
 * A pipe for a child's stdio: the child's end is blocking (as programs expect) and close-on-exec (only the
 * dup2 onto 0/1/2 reaches the child, never the original); ours is non-blocking and close-on-exec. `ours`
 * is the read end for `"read"`, the write end for `"write"`. Both fds are >= 3, so a dup2 of one onto
 * fds 0-2 can never clobber another (this process's fds 0-2 may be closed, making them the lowest free).
 * `capacity` (bytes) asks for a bigger pipe buffer (`F_SETPIPE_SZ`); when the kernel refuses (above
 * /proc/sys/fs/pipe-max-size, or the user's pipe quota), the default (64 KiB) stays.
 */
export function pipe(
  ours: "read" | "write",
  capacity?: number,
): { ours: number; theirs: number; enlarged: boolean } {
  const c = libc();
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) throw new LibcError("pipe2", EMFILE_OR_ENFILE);
  // Move an end off 0-2 (possible when this process's own stdio is closed).
  for (let i = 0; i < 2; i++) {
    if (fds[i] >= 3) continue;
    const copy = c.fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    c.close(fds[i]);
    fds[i] = copy;
  }
  const [read, write] = fds;
  if (read < 0 || write < 0) {
    if (read >= 0) c.close(read);
    if (write >= 0) c.close(write);
    throw new LibcError("fcntl", EMFILE_OR_ENFILE);
  }
  const fd = ours === "read" ? read : write;
  if (c.fcntl(fd, F_SETFL, O_NONBLOCK) !== 0) {
    c.close(read);
    c.close(write);
    throw new Error(`fcntl(F_SETFL, O_NONBLOCK) failed on fd ${fd}`);
  }
  const enlarged = capacity !== undefined && c.fcntl(fd, F_SETPIPE_SZ, capacity) >= capacity; // best effort
  return ours === "read" ? { ours: read, theirs: write, enlarged } : { ours: write, theirs: read, enlarged };
}

/**
 * Asks for a `bytes` pipe buffer on `fd` (`F_SETPIPE_SZ`) if it is a pipe; true when granted. Never throws:
 * anything else (not a pipe, over the limit, no FFI) leaves the fd as it was.
 */
export function enlargePipe(fd: number, bytes: number): boolean {
  try {
    return libc().fcntl(fd, F_SETPIPE_SZ, bytes) >= bytes;
  } catch {
    return false;
  }
}

/** pipe2 fails with EMFILE or ENFILE; errno is not readable here, and EMFILE is by far the likelier. */
const EMFILE_OR_ENFILE = 24;

const AT_EMPTY_PATH = 0x1000;
const STATX_INO = 0x100;
const STATX_BYTES = 256;
const STATX_INO_OFFSET = 32;
const EMPTY_PATH = new Uint8Array(1);

/** The inode number of what `fd` refers to (`statx(fd, "", AT_EMPTY_PATH)`), or null if unavailable. */
export function fdInode(fd: number): bigint | null {
  const c = libc();
  if (!c.statx) return null;
  const buffer = new Uint8Array(STATX_BYTES);
  if (c.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_INO, buffer) !== 0) return null;
  return new DataView(buffer.buffer).getBigUint64(STATX_INO_OFFSET, true);
}
