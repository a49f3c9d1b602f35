/**
 * Opens libc through Deno FFI (only `fd_limit.ts` opens its own two calls): the symbol table, the lazy
 * loader, and what every libc call shares (C strings, errno texts, errors). The calls themselves live
 * beside it, by job: `libc_terminal.ts` (pseudo-terminals), `libc_spawn.ts` (`posix_spawn` of a session
 * leader), `libc_fds.ts` (pipes, non-blocking writes, access, inodes) and `child_reaper.ts` (exits
 * collected on SIGCHLD).
 * `Deno.Command` with `detached` forks the whole (60+ MiB) Deno process; glibc's `posix_spawn` uses
 * `clone(CLONE_VM|CLONE_VFORK)` and copies no page tables.
 *
 * Every export hides pointers and buffers behind plain numbers and strings. The library is opened lazily on
 * first use, so importing these modules costs nothing and needs no `--allow-ffi` until one is used.
 *
 * Linux (glibc) only: the constants and struct layouts are Linux's, identical on x86_64 and aarch64
 * (both little-endian). The one blocking call (`poll`, with a timeout) runs on an FFI worker thread; exits are
 * collected with `waitpid(WNOHANG)` on SIGCHLD, parking no thread. `errno` is never read: it is unreliable for
 * calls made on another thread, and `posix_spawn` returns its error number directly.
 *
 * @module
 */

// Linux open(2) and fcntl(2) flags shared by several calls (asm-generic, same on x86_64 and aarch64).
export const O_RDONLY = 0;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_DUPFD_CLOEXEC = 1030;

const SYMBOLS = {
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // shutdown(2) of a socket: ends the connection, leaves the fd to its owner.
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
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

/** The libc functions this project calls, as Deno FFI symbols (optional ones may be null). */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let loaded: Libc | null = null;

/** Opens libc once; throws a message naming what is missing instead of a raw dlopen error. */
export function libc(): Libc {
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

/** Whether libc can spawn children here (Linux, glibc >= 2.29, `--allow-ffi`); asked once, then cached. */
let spawnSupport: boolean | null = null;

/** True when `spawnSession` (`libc_spawn.ts`) and `pipe` (`libc_fds.ts`) work here; never throws. */
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

export const encoder = new TextEncoder();

/** A string with a NUL byte inside, which C would silently truncate at. */
export class NulByteError extends Error {
  override name = "NulByteError";
  constructor(readonly what: string) {
    super(`nul byte found in provided data (${what})`);
  }
}

/** A NUL-terminated C string; rejects interior NULs ({@link NulByteError}). */
export function cString(value: string, what: string): Uint8Array<ArrayBuffer> {
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
export function cStringArray(
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

/** Throws {@link LibcError} unless `rc` is 0 (the libc convention of returning the error number). */
export function check(call: string, rc: number): void {
  if (rc !== 0) throw new LibcError(call, rc);
}
