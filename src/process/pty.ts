/**
 * Pseudo-terminal children for `tty:true` processes: the child runs as a session leader with the pty slave as
 * fds 0/1/2 and controlling terminal; we hold the master.
 *
 * The master is non-blocking. It is read through `node:tty`'s `ReadStream` on a duplicate of the fd (see
 * `node_tty.ts`, which loads that module lazily): that polls on the event loop (no thread parked per pty),
 * and `pause()` stops reading the fd, which is how backpressure reaches the child. Writes do not use that
 * stream: Deno's tty stream never resumes a write that hit EAGAIN (a full pty input queue), so
 * input is written with plain non-blocking `write(2)` calls and, when the queue is full, a `poll(2)` for
 * writability on a worker thread. Our own fd stays open for writes and `ioctl`s until {@link PtyChild.close}.
 *
 * @module
 */

import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { decodeWaitStatus, type ExitStatus } from "./child.ts";
import { waitForExit } from "./child_reaper.ts";
import { ensurePtySupport, errnoByName, errnoText } from "./libc.ts";
import { closeFd, dupFd } from "./libc_fds.ts";
import { spawnSessionLeader } from "./libc_spawn.ts";
import { openPtyMaster, setWindowSize, terminalEof } from "./libc_terminal.ts";
import { writeAllNonBlocking } from "./fd_write.ts";
import { type FdReader, readFd } from "./node_tty.ts";

export type { ExitStatus } from "./child.ts";

/** How to start a pty child. */
export interface PtySpawnOptions {
  /** Program path to execute (already resolved by `resolveTtyProgram`). */
  program: string;
  /** Full argv as the child sees it, argv[0] included. */
  argv: string[];
  /** Must exist; a missing cwd is an error (unlike the reference, which falls back to $HOME). */
  cwd: string;
  /** Exact child environment. */
  env: Record<string, string>;
  /** Terminal rows (callers default to 24). */
  rows: number;
  /** Terminal columns (callers default to 80). */
  cols: number;
}

/** A running (or finished) pty child and our end of its terminal. */
export interface PtyChild {
  /** Session leader: pid == pgid == sid, so `Deno.kill(-pid, sig)` signals the whole session's main group. */
  readonly pid: number;
  /**
   * Everything the terminal printed (one stream: stdout and stderr are the same tty). Pull-based: while the
   * consumer does not read, the master is not read either and the child eventually blocks on output. Closes
   * (never errors) once every holder of the slave is gone, or on {@link close}. Cancelling it discards any
   * further output (the master keeps being drained so the child never blocks).
   */
  readonly output: ReadableStream<Uint8Array>;
  /** Types `data` into the terminal. Never blocks the event loop; settles once the kernel took every byte. */
  write(data: Uint8Array): Promise<void>;
  /** Sets the window size (`TIOCSWINSZ`); the foreground group gets SIGWINCH. A no-op after {@link close}. */
  resize(rows: number, cols: number): void;
  /**
   * Ends input "the terminal way": writes the termios VEOF character (normally ^D). In canonical mode, when the
   * last byte we wrote left a partial line pending (not `\n`, `\r` or VEOF), VEOF is written twice: the first
   * one only submits the pending line, the second makes the reader's `read()` return 0 (EOF). Outside
   * canonical mode a single VEOF byte is written and its meaning is up to the program.
   */
  sendEof(): Promise<void>;
  /** Settles when the child exits; never rejects. */
  readonly status: Promise<ExitStatus>;
  /**
   * Releases the master (idempotent). Call after the exit and after draining {@link output}: any output not
   * read yet is dropped, {@link output} closes, and pending writes reject. If a background process still
   * holds the slave it gets EIO/SIGHUP as the terminal goes away.
   */
  close(): void;
}

/** Size limits of `struct winsize` (unsigned short). */
const MAX_DIMENSION = 0xffff;
/** Output buffered in {@link PtyChild.output} before we stop reading the master. */
const OUTPUT_HIGH_WATER_MARK = 64 * 1024;

/**
 * Starts `options.program` on a new pseudo-terminal of `rows` x `cols`.
 *
 * Throws `RpcError(InternalError)` when it cannot: a missing or non-directory cwd
 * (`No such file or directory (os error 2): cwd "<cwd>"`), an exec failure (`Permission denied (os error 13)`,
 * `Exec format error (os error 8)`, ...), or no pty support on this host (wrong OS, old glibc, no `--allow-ffi`).
 */
export function spawnPty(options: PtySpawnOptions): PtyChild {
  checkDimensions(options.rows, options.cols);
  if (options.argv.length === 0) throw new RangeError("spawnPty() needs a non-empty argv");
  try {
    ensurePtySupport();
  } catch (error) {
    throw new RpcError(ErrorCode.InternalError, (error as Error).message, { cause: error });
  }
  const cwdProblem = checkCwd(options.cwd);
  if (cwdProblem) throw new RpcError(ErrorCode.InternalError, cwdProblem);

  let fd = -1;
  let streamFd = -1;
  let pid: number;
  try {
    const master = openPtyMaster();
    fd = master.fd;
    streamFd = dupFd(fd);
    setWindowSize(fd, options.rows, options.cols);
    pid = spawnSessionLeader({
      // Relative to the server's cwd, not the child's: the child changes directory before it execs.
      path: options.program.startsWith("/") ? options.program : `${Deno.cwd()}/${options.program}`,
      argv: options.argv,
      envp: Object.entries(options.env).map(([key, value]) => `${key}=${value}`),
      cwd: options.cwd,
      ttyPath: master.slavePath,
    });
  } catch (error) {
    if (streamFd >= 0) closeFd(streamFd);
    if (fd >= 0) closeFd(fd);
    // posix_spawn reports a failed chdir and a failed exec alike; the cwd may also have vanished since.
    const message = checkCwd(options.cwd) ?? (error instanceof Error ? error.message : String(error));
    throw new RpcError(ErrorCode.InternalError, message, { cause: error });
  }
  return new PtyChildImpl(pid, fd, streamFd);
}

function checkDimensions(rows: number, cols: number): void {
  for (const [name, value] of [["rows", rows], ["cols", cols]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_DIMENSION) {
      throw new RangeError(`pty ${name} must be an integer in 0..${MAX_DIMENSION}, got ${value}`);
    }
  }
}

/** Why `cwd` cannot be entered, in Rust's io::Error wording plus the path, or null if it is a directory. */
function checkCwd(cwd: string): string | null {
  let errno: number | undefined;
  try {
    if (Deno.statSync(cwd).isDirectory) return null;
    errno = 20; // ENOTDIR
  } catch (error) {
    errno = errnoByName((error as { code?: string }).code ?? "") ?? 2;
  }
  return `${errnoText(errno)} (os error ${errno}): cwd ${JSON.stringify(cwd)}`;
}

const LF = 0x0a;
const CR = 0x0d;

class PtyChildImpl implements PtyChild {
  readonly output: ReadableStream<Uint8Array>;
  readonly status: Promise<ExitStatus>;
  readonly #controlFd: number;
  readonly #reader: FdReader;
  #closed = false;
  #lastByteWritten: number | undefined;
  /** Serialises writes so concurrent calls land in call order. */
  #writeChain: Promise<void> = Promise.resolve();

  constructor(readonly pid: number, controlFd: number, streamFd: number) {
    this.#controlFd = controlFd;
    this.status = waitForExit(pid).then(decodeWaitStatus, () => decodeWaitStatus(null));
    // The reader owns streamFd (and closes it); we keep controlFd for writes and ioctls.
    // Linux reports "no slave left" as EIO on the master: that is the normal end of output.
    this.#reader = readFd(streamFd, { highWaterMark: OUTPUT_HIGH_WATER_MARK, eioIsEnd: true });
    this.output = this.#reader.stream;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("write to a closed pty"));
    if (data.length === 0) return Promise.resolve();
    this.#lastByteWritten = data[data.length - 1];
    const copy = data.slice(); // the caller may reuse its buffer before we are done
    const done = this.#writeChain.then(() => this.#writeAll(copy));
    this.#writeChain = done.catch(() => {});
    return done;
  }

  #writeAll(data: Uint8Array<ArrayBuffer>): Promise<void> {
    return writeAllNonBlocking(this.#controlFd, data, {
      cancelled: () => this.#closed,
      cancelledMessage: "pty closed before the write completed",
      goneMessage: "write to a pty whose terminal is gone (no process has it open)",
    });
  }

  resize(rows: number, cols: number): void {
    checkDimensions(rows, cols);
    if (this.#closed) return;
    setWindowSize(this.#controlFd, rows, cols);
  }

  sendEof(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("write to a closed pty"));
    const { veof, canonical } = terminalEof(this.#controlFd);
    const last = this.#lastByteWritten;
    const partialLine = canonical && last !== undefined && last !== LF && last !== CR && last !== veof;
    return this.write(new Uint8Array(partialLine ? [veof, veof] : [veof]));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.destroy();
    closeFd(this.#controlFd);
  }
}
