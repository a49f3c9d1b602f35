/**
 * The only module that talks to libc through Deno FFI: the handful of calls that Deno does not offer, for
 * pseudo-terminals (allocating a pty, window size, termios) and for spawning children cheaply (pipes, a
 * `posix_spawn` of a session leader with given stdio, non-blocking writes with a poll for writability,
 * waitpid, access). `Deno.Command` with `detached` forks the whole (60+ MiB) Deno process; glibc's
 * `posix_spawn` uses `clone(CLONE_VM|CLONE_VFORK)` and copies no page tables.
 *
 * Every export hides pointers and buffers behind plain numbers and strings. The library is opened lazily on
 * first use, so importing this module costs nothing and needs no `--allow-ffi` until it is used.
 *
 * Linux (glibc) only: the constants and struct layouts below are Linux's, identical on x86_64 and aarch64
 * (both little-endian). The one blocking call (`poll`, with a timeout) runs on an FFI worker thread; exits are
 * collected with `waitpid(WNOHANG)` on SIGCHLD, parking no thread. `errno` is never read: it is unreliable for
 * calls made on another thread, and `posix_spawn` returns its error number directly.
 *
 * @module
 */

import { TaskSpreader } from "../util/task_spreader.ts";

// Linux open(2) flags and ioctl/termios constants (asm-generic, same on x86_64 and aarch64).
const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const TIOCSWINSZ = 0x5414;
const TCGETS_VEOF_OFFSET = 17 + 4; // c_cc starts at byte 17 of struct termios; VEOF is index 4
const TERMIOS_LFLAG_OFFSET = 12;
const ICANON = 0o2;
const X_OK = 1;
const F_DUPFD_CLOEXEC = 1030;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;
const O_RDONLY = 0;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;

// glibc's <spawn.h> flags.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

// Opaque glibc structs are allocated generously: posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128.
const SPAWNATTR_BYTES = 512;
const FILE_ACTIONS_BYTES = 256;
const SIGSET_BYTES = 256;
const TERMIOS_BYTES = 128;

const SYMBOLS = {
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // glibc >= 2.28; only for an fd's inode number.
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32", optional: true },
  // Variadic in C; called with exactly one int argument, which every Linux ABI passes like a fixed one.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // Variadic in C; one pointer argument (as above).
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // Only ever called on O_NONBLOCK fds, so it returns at once.
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Runs on a worker thread, with a timeout.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  sigfillset: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_addopen: { parameters: ["buffer", "i32", "buffer", "i32", "u32"], result: "i32" },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  // Optional: glibc >= 2.34. Without it we rely on every other fd being close-on-exec (Deno's are).
  posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: "i32", optional: true },
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // Only ever called with WNOHANG, so it returns at once.
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // Only with WNOHANG|WNOWAIT: peeks at which child has exited, reaping nothing.
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Oldest glibc that has every required symbol (`posix_spawn_file_actions_addchdir_np`). */
const MIN_GLIBC = "2.29";

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let loaded: Libc | null = null;

/** Opens libc once; throws a message naming what is missing instead of a raw dlopen error. */
function libc(): Libc {
  if (loaded) return loaded;
  if (Deno.build.os !== "linux") {
    throw new Error(`PTY support is only implemented on Linux (this is ${Deno.build.os})`);
  }
  const optional = Object.fromEntries(
    Object.entries(SYMBOLS).map(([name, def]) => [name, { ...def, optional: true }]),
  ) as unknown as typeof SYMBOLS;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", optional);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Error(`PTY support needs --allow-ffi (${error.message})`);
    }
    throw new Error(`PTY support needs glibc >= ${MIN_GLIBC} on Linux (cannot open libc.so.6: ${error})`);
  }
  for (const [name, def] of Object.entries(SYMBOLS)) {
    const isOptional = "optional" in def && def.optional;
    if (!isOptional && (lib.symbols as Record<string, unknown>)[name] == null) {
      lib.close();
      throw new Error(`PTY support needs glibc >= ${MIN_GLIBC} on Linux (missing symbol ${name})`);
    }
  }
  loaded = lib.symbols;
  return loaded;
}

/** Throws if libc cannot provide pseudo-terminals here (wrong OS, old glibc, no `--allow-ffi`). */
export function ensurePtySupport(): void {
  libc();
}

const encoder = new TextEncoder();

/** A string with a NUL byte inside, which C would silently truncate at. */
export class NulByteError extends Error {
  override name = "NulByteError";
  constructor(readonly what: string) {
    super(`nul byte found in provided data (${what})`);
  }
}

/** A NUL-terminated C string; rejects interior NULs ({@link NulByteError}). */
function cString(value: string, what: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(value);
  if (bytes.includes(0)) throw new NulByteError(what);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * A NULL-terminated `char *[]`; the returned `keep` must stay referenced while C uses the pointers. All strings
 * share one buffer (one encode, one pointer lookup): per-string buffers cost ~2.5 µs each, 80+ µs for a
 * typical environment, all of it on the spawn's critical path.
 */
function cStringArray(
  values: string[],
  what: string,
): { array: BigUint64Array<ArrayBuffer>; keep: Uint8Array[] } {
  for (const value of values) if (value.includes("\0")) throw new NulByteError(what);
  const bytes = encoder.encode(values.length === 0 ? "" : `${values.join("\0")}\0`);
  const array = new BigUint64Array(values.length + 1);
  if (values.length === 0) return { array, keep: [] };
  // User-space addresses fit in 47 bits: plain number arithmetic, written as two 32-bit halves.
  const base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  const words = new Uint32Array(array.buffer);
  let start = 0;
  for (let i = 0; i < values.length; i++) {
    const address = base + start;
    words[2 * i] = address % 0x1_0000_0000;
    words[2 * i + 1] = Math.floor(address / 0x1_0000_0000);
    start = bytes.indexOf(0, start) + 1;
  }
  return { array, keep: [bytes] };
}

/** Linux errno values this module may report, with their symbolic names and `strerror` texts. */
const ERRNO: Record<number, [name: string, text: string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  5: ["EIO", "Input/output error"],
  7: ["E2BIG", "Argument list too long"],
  8: ["ENOEXEC", "Exec format error"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  24: ["EMFILE", "Too many open files"],
  26: ["ETXTBSY", "Text file busy"],
  36: ["ENAMETOOLONG", "File name too long"],
  40: ["ELOOP", "Too many levels of symbolic links"],
};

/** `strerror`-style text for an errno, e.g. `No such file or directory` (or `Unknown error N`). */
export function errnoText(errno: number): string {
  return ERRNO[errno]?.[1] ?? `Unknown error ${errno}`;
}

/** The errno number for a symbolic name such as `ENOENT` (as found in Deno errors' `code`), if known. */
export function errnoByName(name: string): number | undefined {
  const hit = Object.entries(ERRNO).find(([, [n]]) => n === name);
  return hit ? Number(hit[0]) : undefined;
}

/** An OS error with its errno, as returned directly by the failing call (never read from `errno`). */
export class LibcError extends Error {
  override name = "LibcError";
  constructor(readonly call: string, readonly errno: number) {
    // Rust's io::Error wording, which the reference server shows for spawn failures.
    super(`${errnoText(errno)} (os error ${errno})`);
  }
}

/**
 * Allocates a pty master and unlocks its slave. The master is close-on-exec (it never leaks into any child)
 * and non-blocking (reads and writes on it never stall the event loop). The slave is not opened here; the
 * child opens it by path, which makes it its controlling terminal.
 */
export function openPtyMaster(): { fd: number; slavePath: string } {
  const c = libc();
  const fd = c.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw new Error("posix_openpt failed: cannot allocate a pseudo-terminal");
  const name = new Uint8Array(256);
  if (c.grantpt(fd) !== 0 || c.unlockpt(fd) !== 0) {
    c.close(fd);
    throw new Error("grantpt/unlockpt failed on a new pseudo-terminal");
  }
  const rc = c.ptsname_r(fd, name, BigInt(name.length));
  if (rc !== 0) {
    c.close(fd);
    throw new LibcError("ptsname_r", rc);
  }
  return { fd, slavePath: new TextDecoder().decode(name.subarray(0, name.indexOf(0))) };
}

/** Sets the terminal size (`TIOCSWINSZ` on the master); the kernel sends SIGWINCH to the foreground group. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint16Array([rows, cols, 0, 0]);
  if (libc().ioctl(fd, BigInt(TIOCSWINSZ), ws) !== 0) throw new Error(`TIOCSWINSZ failed on fd ${fd}`);
}

/**
 * The terminal's end-of-file character (termios `c_cc[VEOF]`, normally ^D) and whether canonical mode is on
 * (outside it, VEOF is just a byte). Read from the master, which on Linux reports the slave's termios.
 */
export function terminalEof(fd: number): { veof: number; canonical: boolean } {
  const termios = new Uint8Array(TERMIOS_BYTES);
  if (libc().tcgetattr(fd, termios) !== 0) return { veof: 0x04, canonical: true };
  const lflag = new DataView(termios.buffer).getUint32(TERMIOS_LFLAG_OFFSET, true);
  return { veof: termios[TCGETS_VEOF_OFFSET] || 0x04, canonical: (lflag & ICANON) !== 0 };
}

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

/** What {@link spawnSessionLeader} needs. */
export interface SessionSpawn {
  /** Path passed to `posix_spawn` (no PATH search happens here). */
  path: string;
  argv: string[];
  /** `KEY=value` strings. */
  envp: string[];
  /** Working directory, entered in the child before exec. */
  cwd: string;
  /** The pty slave to open as fds 0, 1 and 2. */
  ttyPath: string;
}

/**
 * Spawns `path` as a new session leader whose fds 0/1/2 are the pty slave (opened without `O_NOCTTY`, so it
 * becomes the controlling terminal), with every signal at its default disposition and none blocked (Deno
 * ignores SIGPIPE; children must not inherit that), and every other fd closed. Returns the pid.
 * Throws {@link LibcError} with the errno `posix_spawn` returned (a failing chdir or exec shows up here).
 */
export function spawnSessionLeader(spec: SessionSpawn): number {
  // Open the slave as fd 0 (after setsid, so it becomes the controlling terminal), then copy it to 1 and 2.
  return spawnSession({
    path: spec.path,
    argv: spec.argv,
    envp: spec.envp,
    cwd: spec.cwd,
    stdio: [{ open: spec.ttyPath, flags: O_RDWR }, { dup: 0 }, { dup: 0 }],
  });
}

/** What a child's fd 0, 1 or 2 becomes: a path opened there, or a copy of one of our fds. */
export type StdioAction = { open: string; flags: number } | { dup: number };

/** `/dev/null` for reading, as a child's stdin. */
export const DEV_NULL_STDIN: StdioAction = { open: "/dev/null", flags: O_RDONLY };

/** What {@link spawnSession} needs. */
export interface SpawnSpec {
  /** Path passed to `posix_spawn` (no PATH search happens here); relative to the server's cwd. */
  path: string;
  argv: string[];
  /** `KEY=value` strings. */
  envp: string[];
  /** Working directory, entered in the child before exec (after the stdio actions). */
  cwd: string;
  /**
   * The child's fds 0, 1 and 2, set up in order. `dup` sources must be >= 3 or an earlier target (see
   * {@link pipe}); they stay open in the parent (the caller closes its copies after the spawn).
   */
  stdio: [StdioAction, StdioAction, StdioAction];
}

/** The spawn attributes are the same for every child: built once, reused (posix_spawn only reads them). */
let spawnAttr: Uint8Array<ArrayBuffer> | null = null;

function sessionSpawnAttr(c: Libc): Uint8Array<ArrayBuffer> {
  if (spawnAttr) return spawnAttr;
  const attr = new Uint8Array(SPAWNATTR_BYTES);
  const allSignals = new Uint8Array(SIGSET_BYTES);
  const noSignals = new Uint8Array(SIGSET_BYTES);
  c.sigfillset(allSignals);
  c.sigemptyset(noSignals);
  check("posix_spawnattr_init", c.posix_spawnattr_init(attr));
  try {
    check(
      "posix_spawnattr_setflags",
      c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
    );
    check("posix_spawnattr_setsigdefault", c.posix_spawnattr_setsigdefault(attr, allSignals));
    check("posix_spawnattr_setsigmask", c.posix_spawnattr_setsigmask(attr, noSignals));
  } catch (error) {
    c.posix_spawnattr_destroy(attr);
    throw error;
  }
  spawnAttr = attr;
  return attr;
}

/**
 * Spawns `path` as a new session leader (setsid: its own session and process group) with the given fds
 * 0/1/2, every signal at its default disposition and none blocked (Deno ignores SIGPIPE; children must not
 * inherit that), every other fd closed (closefrom(3) on glibc >= 2.34; before that, every fd of ours is
 * close-on-exec), in `cwd`. Returns the pid.
 *
 * glibc's `posix_spawn` runs the child on `clone(CLONE_VM|CLONE_VFORK)`: no page tables are copied, the
 * caller is suspended only until the exec, and a failing file action, chdir or exec is returned as the
 * error. Throws {@link LibcError} with that errno (or `EINVAL` for a NUL byte inside a string).
 */
export function spawnSession(spec: SpawnSpec): number {
  const c = libc();
  const path = cString(spec.path, "program");
  const cwd = cString(spec.cwd, "cwd");
  const argv = cStringArray(spec.argv, "argv");
  const envp = cStringArray(spec.envp, "env");
  const attr = sessionSpawnAttr(c);
  const actions = new Uint8Array(FILE_ACTIONS_BYTES);
  const keep: Uint8Array[] = [];
  const pid = new Int32Array(1);
  check("posix_spawn_file_actions_init", c.posix_spawn_file_actions_init(actions));
  try {
    for (let fd = 0; fd < 3; fd++) {
      const action = spec.stdio[fd];
      if ("dup" in action) {
        check("adddup2", c.posix_spawn_file_actions_adddup2(actions, action.dup, fd));
      } else {
        const target = cString(action.open, "stdio path");
        keep.push(target);
        check("addopen", c.posix_spawn_file_actions_addopen(actions, fd, target, action.flags, 0));
      }
    }
    if (c.posix_spawn_file_actions_addclosefrom_np) {
      check("addclosefrom_np", c.posix_spawn_file_actions_addclosefrom_np(actions, 3));
    }
    // Last, so a relative cwd is not applied to a relative stdio path.
    check("addchdir_np", c.posix_spawn_file_actions_addchdir_np(actions, cwd));
    const rc = c.posix_spawn(pid, path, actions, attr, argv.array, envp.array);
    if (rc !== 0) throw new LibcError("posix_spawn", rc);
    return pid[0];
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
    keep.length = 0;
  }
}

/** Whether libc can spawn children here (Linux, glibc >= 2.29, `--allow-ffi`); asked once, then cached. */
let spawnSupport: boolean | null = null;

/** True when {@link spawnSession} and {@link pipe} work here; never throws. */
export function hasLibcSpawn(): boolean {
  if (spawnSupport === null) {
    try {
      libc();
      spawnSupport = true;
    } catch {
      spawnSupport = false;
    }
  }
  return spawnSupport;
}

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

function check(call: string, rc: number): void {
  if (rc !== 0) throw new LibcError(call, rc);
}

const WNOHANG = 1;
/** How often the watched children are checked even without a SIGCHLD (a safety net; also keeps the event
 * loop alive while a child is watched, as a pending wait would). */
const EXIT_POLL_MS = 1000;

/** Children whose exit is awaited, with the resolver of their {@link waitForExit} promise. */
const watchedChildren = new Map<number, (status: number | null) => void>();
/** Installed on first use and kept (a signal listener does not keep the event loop alive). */
let sigchldListening = false;
/** Runs while a child is watched. */
let exitPollTimer: ReturnType<typeof setInterval> | null = null;
const waitStatus = new Int32Array(1);

/**
 * Resolves with `pid`'s raw wait status once it exits (reaping it), or `null` when it cannot be collected
 * (someone else reaped it). Never blocks and parks no thread: every SIGCHLD (and a slow timer, as a safety net)
 * checks each watched child with `waitpid(pid, WNOHANG)`. (A blocking `waitpid` per child on an FFI worker
 * thread would exhaust Deno's small blocking-thread pool: beyond a few dozen running children, later exits
 * went unnoticed until earlier children ended.) Only the given pids are waited for, never `-1`, so children
 * spawned by `Deno.Command` are left to Deno.
 */
export function waitForExit(pid: number): Promise<number | null> {
  const { promise, resolve } = Promise.withResolvers<number | null>();
  watchedChildren.set(pid, resolve);
  exitPollTimer ??= setInterval(() => reapWatchedChildren(true), EXIT_POLL_MS);
  if (!sigchldListening) {
    sigchldListening = true;
    Deno.addSignalListener("SIGCHLD", () => reapWatchedChildren());
    // A child that exited before the listener existed sent its SIGCHLD to no one.
    reapWatchedChildren();
  }
  return promise;
}

function stopPollingIfIdle(): void {
  if (watchedChildren.size === 0 && exitPollTimer !== null) {
    clearInterval(exitPollTimer);
    exitPollTimer = null;
  }
}

/**
 * Announces collected exits. Each announcement runs its process's exit handling as microtasks, which no
 * other client's request can interleave with; so a few per macrotask (1000 trees killed at once must not
 * freeze every connection).
 */
const exitAnnouncer = new TaskSpreader(4);

const P_ALL = 0;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
/** siginfo_t is 128 bytes; `si_pid` sits at byte 16 on every 64-bit Linux ABI. */
const siginfo = new Int32Array(32);
const SIGINFO_PID_INDEX = 4;

function reapWatchedChildren(sweepAll = false): void {
  const c = libc();
  // Fast path, one call per exit: ask the kernel which child has exited (without reaping it) and reap it
  // if it is one of ours. A child that is not ours (Deno's own) stops this: the sweep below handles the rest.
  for (;;) {
    siginfo.fill(0);
    if (c.waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT) !== 0) break;
    const pid = siginfo[SIGINFO_PID_INDEX];
    const resolve = pid > 0 ? watchedChildren.get(pid) : undefined;
    if (!resolve) break;
    collect(c, pid, resolve);
  }
  // Only when a child not ours is pending, and on the safety-net timer: every watched child, one by one.
  if (sweepAll || siginfo[SIGINFO_PID_INDEX] !== 0) {
    for (const [pid, resolve] of watchedChildren) collect(c, pid, resolve);
  }
  stopPollingIfIdle();
}

function collect(c: Libc, pid: number, resolve: (status: number | null) => void): void {
  const rc = c.waitpid(pid, waitStatus, WNOHANG);
  if (rc === 0) return; // still running
  watchedChildren.delete(pid);
  const status = rc === pid ? waitStatus[0] : null;
  exitAnnouncer.run(() => resolve(status));
}
