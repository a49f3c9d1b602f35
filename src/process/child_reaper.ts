/**
 * Collects the exits of children spawned through libc (`libc_spawn.ts`): `waitid`/`waitpid` with `WNOHANG`
 * on every SIGCHLD, parking no thread.
 *
 * @module
 */
import { TaskSpreader } from "../util/task_spreader.ts";
import { type Libc, libc } from "./libc.ts";

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
