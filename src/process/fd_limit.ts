/**
 * The open-file limit (RLIMIT_NOFILE): read it, and raise the soft limit to the hard one at server start, so
 * the server is bounded by what the administrator allows rather than by a login shell's 1024 default.
 *
 * `getrlimit`/`setrlimit` go through Deno FFI on glibc, opened lazily and only here (not in `libc.ts`).
 * Without FFI (no `--allow-ffi`, not Linux, no glibc) nothing throws: the limit is read from
 * `/proc/self/limits` if possible, and the raise is skipped with a log line.
 *
 * @module
 */
import { log } from "../util/log.ts";

/** Linux's resource number for the open-file limit (asm-generic: the same on x86_64 and aarch64). */
const RLIMIT_NOFILE = 7;
/** `struct rlimit` on 64-bit Linux: two `rlim_t` (unsigned long), soft then hard. */
const RLIMIT_BYTES = 16;

const SYMBOLS = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/** The soft and hard open-file limits. */
export interface FdLimit {
  soft: number;
  hard: number;
}

let library: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null | undefined;

function rlimitCalls(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null {
  if (library !== undefined) return library;
  library = null;
  if (Deno.build.os !== "linux") return null;
  try {
    library = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (error) {
    log.debug(`getrlimit/setrlimit unavailable (${(error as Error).message})`);
  }
  return library;
}

/** RLIM_INFINITY (all ones) and anything beyond 2^53 read as Infinity. */
function toLimit(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
}

/** The current open-file limits, or null when they cannot be read here. */
export function fdLimit(): FdLimit | null {
  const calls = rlimitCalls();
  if (calls) {
    const buffer = new BigUint64Array(RLIMIT_BYTES / 8);
    if (calls.getrlimit(RLIMIT_NOFILE, buffer) === 0) {
      return { soft: toLimit(buffer[0]), hard: toLimit(buffer[1]) };
    }
  }
  return limitFromProc();
}

/** `Max open files  1024  1048576  files` from /proc/self/limits. */
function limitFromProc(): FdLimit | null {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const match = line && /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
    if (!match) return null;
    const parse = (s: string) => (s === "unlimited" ? Infinity : Number(s));
    return { soft: parse(match[1]), hard: parse(match[2]) };
  } catch {
    return null;
  }
}

/**
 * Raises the soft open-file limit to the hard limit; returns the limits in force afterwards (null when
 * unknown). Never throws. Children inherit the raised soft limit.
 */
export function raiseFdLimit(): FdLimit | null {
  const calls = rlimitCalls();
  if (!calls) {
    const limit = limitFromProc();
    log.info(
      `open-file limit left at ${limit?.soft ?? "unknown"}: setrlimit is unavailable (needs --allow-ffi)`,
    );
    return limit;
  }
  const buffer = new BigUint64Array(RLIMIT_BYTES / 8);
  if (calls.getrlimit(RLIMIT_NOFILE, buffer) !== 0) {
    log.info("open-file limit unknown: getrlimit failed");
    return null;
  }
  const before = { soft: toLimit(buffer[0]), hard: toLimit(buffer[1]) };
  if (buffer[0] >= buffer[1]) {
    log.debug(`open-file limit is ${before.soft} (already the hard limit)`);
    return before;
  }
  buffer[0] = buffer[1];
  if (calls.setrlimit(RLIMIT_NOFILE, buffer) !== 0) {
    log.info(`open-file limit left at ${before.soft}: setrlimit to the hard limit ${before.hard} failed`);
    return before;
  }
  log.info(`open-file limit raised from ${before.soft} to the hard limit ${before.hard}`);
  return { soft: before.hard, hard: before.hard };
}
