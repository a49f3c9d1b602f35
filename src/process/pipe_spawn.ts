/**
 * Spawns a child with pipes, in its own session and process group (setsid), with an exact environment.
 *
 * On Linux/glibc with FFI allowed (detected once), the child is started with `posix_spawn` (see
 * `libc.ts`): `Deno.Command` with `detached` would fork the whole Deno process (its page tables copied:
 * 1.3-2 ms on the JS thread per spawn, against ~0.3 ms). Our ends of the pipes are non-blocking: stdout and
 * stderr are read on the event loop (`node_tty.ts`), stdin is written with non-blocking `write(2)` and a
 * `poll(2)` for writability on a worker thread, the exit status comes from `waitpid(WNOHANG)` on SIGCHLD.
 * argv[0] is free, so `arg0` is honoured. The program is looked up like `Deno.Command` does, and failures
 * carry the same `<strerror> (os error N)` messages.
 *
 * Elsewhere (no FFI), `Deno.Command` spawns the child; it has no argv[0] override, so `arg0` is ignored there.
 * Both paths present the same {@link SpawnedChild}.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import { osErrorMessage } from "../protocol/os_error.ts";
import { decodeWaitStatus, type SpawnedChild } from "./child.ts";
import {
  closeFd,
  DEV_NULL_STDIN,
  fdInode,
  hasLibcSpawn,
  isExecutable,
  LibcError,
  NulByteError,
  pipe,
  spawnSession,
  type SpawnSpec,
  waitForExit,
} from "./libc.ts";
import { writeAllNonBlocking } from "./fd_write.ts";
import { readFd } from "./node_tty.ts";
import { openFds, stdioPipesOf } from "./process_tree.ts";
import { spawnErrorMessage } from "./spawn_error.ts";

/** What to run. */
export interface PipeSpawnOptions {
  /** Program: a path, or a bare name looked up in `env.PATH` (else the server's PATH). */
  program: string;
  /** Arguments after argv[0]. */
  args: string[];
  /** argv[0] as the child sees it; `undefined` means the program name. */
  arg0?: string;
  cwd: string;
  env: Record<string, string>;
  pipeStdin: boolean;
}

/** Spawns the child; throws `RpcError(-32603)` with the OS text on failure. */
export function spawnWithPipes(options: PipeSpawnOptions): SpawnedChild {
  if (options.program === "") throw RpcError.internal("missing program for pipe spawn");
  return hasLibcSpawn() ? spawnLibc(options) : spawnDeno(options);
}

const ENOENT = 2;
const ENOEXEC = 8;
const EINVAL = 22;

/** Output buffered in a stream before we stop reading its pipe. */
const OUTPUT_HIGH_WATER_MARK = 64 * 1024;
/** What glibc's `execvp` falls back to for an executable that is not a binary nor a `#!` script. */
const BOURNE_SHELL = "/bin/sh";

// ---------------------------------------------------------------------------------------------------------
// posix_spawn

function spawnLibc(options: PipeSpawnOptions): SpawnedChild {
  if (options.cwd.includes("\0")) throw spawnError(ENOENT);
  const cwd = options.cwd.startsWith("/") ? options.cwd : `${Deno.cwd()}/${options.cwd}`;
  const path = resolveProgram(options.program, options.env, cwd);
  const argv = [options.arg0 ?? options.program, ...options.args];
  const envp: string[] = [];
  for (const key in options.env) envp.push(`${key}=${options.env[key]}`);

  const opened: number[] = [];
  const theirs: number[] = [];
  let stdin = -1;
  let stdout = -1;
  let stderr = -1;
  let enlarged = 0;
  let pid: number;
  try {
    const take = (end: "read" | "write", enlarge: boolean) => {
      const asked = enlarge && pipeBudget.take();
      let fds: ReturnType<typeof pipe>;
      try {
        fds = pipe(end, asked ? PIPE_CAPACITY : undefined);
      } catch (error) {
        if (asked) pipeBudget.give(1);
        throw error;
      }
      if (fds.enlarged) enlarged++;
      else if (asked) pipeBudget.give(1); // refused by the kernel: nothing held
      opened.push(fds.ours);
      theirs.push(fds.theirs);
      return fds;
    };
    const stdinPipe = options.pipeStdin ? take("write", false) : null;
    const stdoutPipe = take("read", true);
    const stderrPipe = take("read", true);
    [stdin, stdout, stderr] = [stdinPipe?.ours ?? -1, stdoutPipe.ours, stderrPipe.ours];
    const stdio: SpawnSpec["stdio"] = [
      stdinPipe ? { dup: stdinPipe.theirs } : DEV_NULL_STDIN,
      { dup: stdoutPipe.theirs },
      { dup: stderrPipe.theirs },
    ];
    try {
      pid = spawnSession({ path, argv, envp, cwd, stdio });
    } catch (error) {
      if (!(error instanceof LibcError && error.errno === ENOEXEC)) throw error;
      // Neither a binary nor a `#!` script: run it with the shell, as execvp (and so Deno.Command) does.
      pid = spawnSession({
        path: BOURNE_SHELL,
        argv: [BOURNE_SHELL, path, ...options.args],
        envp,
        cwd,
        stdio,
      });
    }
  } catch (error) {
    for (const fd of opened) closeFd(fd);
    pipeBudget.give(enlarged);
    throw spawnFailure(error, cwd);
  } finally {
    // The child has its copies (or there is no child): ours would only keep its EOF from coming.
    for (const fd of theirs) closeFd(fd);
  }

  const stdioPipes = pipeIdentities(opened);
  const status = waitForExit(pid).then(decodeWaitStatus, () => decodeWaitStatus(null));
  const out = readFd(stdout, { highWaterMark: OUTPUT_HIGH_WATER_MARK });
  const err = readFd(stderr, { highWaterMark: OUTPUT_HIGH_WATER_MARK });
  const writer = stdin >= 0 ? new PipeWriter(stdin) : null;
  let disposed = false;
  return {
    pid,
    outputs: [{ name: "stdout", stream: out.stream }, { name: "stderr", stream: err.stream }],
    writeStdin: writer ? (data) => writer.write(data) : null,
    closeStdin: writer ? () => writer.close() : null,
    resize: null,
    status,
    stdioPipes,
    dispose() {
      if (disposed) return;
      disposed = true;
      writer?.destroy();
      out.destroy();
      err.destroy();
      pipeBudget.give(enlarged);
    },
  };
}

/** An `RpcError` with Rust's io::Error text for `errno`, as Deno.Command's spawn errors read. */
function spawnError(errno: number, cause?: unknown): RpcError {
  return RpcError.internal(osErrorMessage(errno), cause);
}

/** Maps a failure of the spawn to Deno.Command's message for it. */
function spawnFailure(error: unknown, cwd: string): RpcError {
  if (error instanceof RpcError) return error;
  // Deno.Command reports a cwd that is not a directory as "No such cwd" (ENOENT), whatever chdir said.
  if (!isDirectory(cwd)) return spawnError(ENOENT, error);
  if (error instanceof NulByteError) return spawnError(EINVAL, error);
  if (error instanceof LibcError) return spawnError(error.errno, error);
  return RpcError.internal(error instanceof Error ? error.message : String(error), error);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The program to execute, as `Deno.Command` resolves it: a name containing `/` is taken relative to the
 * child's cwd (lexically normalised); a bare name is searched in the child env's `PATH` (the server's when the
 * child env has none), empty entries skipped, the first executable regular file winning. (A relative entry
 * is checked against the server's cwd but, as a relative path, executed in the child's cwd: Deno's quirk.) Throws `No such file or directory (os error 2)` when nothing is found.
 */
function resolveProgram(program: string, env: Record<string, string>, cwd: string): string {
  if (program.includes("/")) {
    if (program.includes("\0")) throw spawnError(EINVAL);
    return normalizePath(program.startsWith("/") ? program : `${cwd}/${program}`);
  }
  if (program.includes("\0")) throw spawnError(ENOENT);
  const path = Object.hasOwn(env, "PATH") ? env.PATH : serverPath();
  if (path !== undefined) {
    for (const dir of path.split(":")) {
      if (dir === "" || dir.includes("\0")) continue;
      // A relative entry is checked against the server's cwd and executed in the child's, as Deno does.
      const candidate = `${dir}/${program}`;
      if (isExecutable(candidate) && isFile(candidate)) return candidate;
    }
  }
  throw spawnError(ENOENT);
}

function serverPath(): string | undefined {
  try {
    return Deno.env.get("PATH");
  } catch {
    return undefined; // no --allow-env
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Lexical normalisation of an absolute path (`.`, `..`, repeated slashes), as Deno's `normalize_path`. */
function normalizePath(path: string): string {
  if (!/\/\.{0,2}(\/|$)|\/\//.test(path)) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The `pipe:[inode]` identities of our pipe ends (both ends of a pipe show the same), as /proc shows them. */
function pipeIdentities(fds: readonly number[]): Set<string> {
  const pipes = new Set<string>();
  for (const fd of fds) {
    const inode = fdInode(fd);
    if (inode !== null) pipes.add(`pipe:[${inode}]`);
  }
  return pipes;
}

/** Our stdin end: ordered non-blocking writes, waiting for writability on a worker thread when full. */
class PipeWriter {
  readonly #fd: number;
  /** Serialises writes (and the close) so they land in call order. */
  #chain: Promise<void> = Promise.resolve();
  #closing = false;
  #fdClosed = false;
  #writing = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(new Error("write to a closed stdin"));
    if (data.length === 0) return Promise.resolve();
    const copy = data.slice(); // the caller may reuse its buffer before we are done
    const done = this.#chain.then(() => this.#writeAll(copy));
    this.#chain = done.catch(() => {});
    return done;
  }

  async #writeAll(data: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#writing = true;
    try {
      await writeAllNonBlocking(this.#fd, data, {
        cancelled: () => this.#closing,
        cancelledMessage: "stdin was closed before the write completed",
        goneMessage: "Broken pipe (os error 32): the process closed its stdin",
      });
    } finally {
      this.#writing = false;
      if (this.#closing) this.#closeFd();
    }
  }

  /** EOF for the child, after every write already queued. */
  close(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    const done = this.#chain.then(() => {
      this.#closing = true;
      this.#closeFd();
    });
    this.#chain = done;
    return done;
  }

  /** Closes at once; a pending write rejects (the fd is closed once no poll uses it any more). */
  destroy(): void {
    this.#closing = true;
    if (!this.#writing) this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    closeFd(this.#fd);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Output pipe capacity

/** Capacity asked for stdout and stderr pipes: fewer wake-ups for bulk output than the default 64 KiB. */
const PIPE_CAPACITY = 1024 * 1024;

/**
 * How many enlarged pipes we may hold. Without CAP_SYS_RESOURCE/CAP_SYS_ADMIN, a user whose pipes exceed
 * /proc/sys/fs/pipe-user-pages-soft gets one-page pipes for every new pipe (in every process of that user,
 * shell pipelines included) until usage drops. So we use at most half of that quota for enlarged pipes and
 * leave the rest at the default size.
 */
const pipeBudget = {
  left: null as number | null,
  take(): boolean {
    this.left ??= initialPipeBudget();
    if (this.left <= 0) return false;
    this.left--;
    return true;
  },
  give(count: number): void {
    if (this.left !== null) this.left += count;
  },
};

function initialPipeBudget(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const caps = BigInt("0x" + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"));
    const CAP_SYS_ADMIN = 1n << 21n;
    const CAP_SYS_RESOURCE = 1n << 24n;
    if (caps & (CAP_SYS_ADMIN | CAP_SYS_RESOURCE)) return Infinity; // the quota does not apply
    const softPages = Number(Deno.readTextFileSync("/proc/sys/fs/pipe-user-pages-soft").trim());
    if (!Number.isFinite(softPages)) return 0;
    if (softPages === 0) return Infinity; // no soft limit
    return Math.floor((softPages * 4096) / 2 / PIPE_CAPACITY);
  } catch {
    return 0; // cannot tell: keep the default size
  }
}

// ---------------------------------------------------------------------------------------------------------
// Deno.Command (no FFI)

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function spawnDeno(options: PipeSpawnOptions): SpawnedChild {
  // The child's stdio pipes are learnt from /proc afterwards (see stdioPipesOf): note our fds first.
  const fdsBefore = openFds();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.program, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: options.pipeStdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    throw RpcError.internal(spawnErrorMessage(error), error);
  }
  const stdioPipes = stdioPipesOf(child.pid, fdsBefore);
  const writer = options.pipeStdin ? child.stdin.getWriter() : null;
  let stdinClosed = false;
  return {
    pid: child.pid,
    outputs: [{ name: "stdout", stream: child.stdout }, { name: "stderr", stream: child.stderr }],
    writeStdin: writer ? (data) => writer.write(data) : null,
    closeStdin: writer
      ? async () => {
        if (stdinClosed) return;
        stdinClosed = true;
        await writer.close().catch(() => {});
      }
      : null,
    resize: null,
    status: child.status.then((s) => ({
      code: s.code,
      signal: s.signal ? SIGNAL_NUMBERS[s.signal] ?? null : null,
    })),
    stdioPipes,
    dispose() {
      if (writer && !stdinClosed) {
        stdinClosed = true;
        writer.close().catch(() => {});
      }
    },
  };
}
