/** The shape every spawned child (pipes or PTY) presents to the process manager. @module */
import type { ContainedTree } from "./containment.ts";

/** How a child ended. */
export interface ExitStatus {
  /** The exit status; 128 + signal when killed by a signal; -1 when the status could not be collected. */
  code: number;
  /** The terminating signal number, or null. */
  signal: number | null;
}

/** How a process ended, for audit and metrics: its status, time from spawn to exit, output read by then. */
export interface ExitSummary extends ExitStatus {
  durationMs: number;
  outputBytes: number;
}

/** Decodes a raw `waitpid` status: exit status, or 128 + signal (-1 when it could not be collected). */
export function decodeWaitStatus(status: number | null): ExitStatus {
  if (status === null) return { code: -1, signal: null };
  const termSignal = status & 0x7f;
  if (termSignal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + termSignal, signal: termSignal };
}

/** One output stream of a child. */
export interface ChildOutput {
  readonly name: "stdout" | "stderr" | "pty";
  readonly stream: ReadableStream<Uint8Array>;
}

/** A running child with its I/O. */
export interface SpawnedChild {
  readonly pid: number;
  readonly outputs: readonly ChildOutput[];
  /** Writes to stdin (or the PTY); rejects when stdin is gone. Null when stdin is /dev/null. */
  readonly writeStdin: ((data: Uint8Array) => Promise<void>) | null;
  /** Closes stdin (EOF); for a PTY, sends the terminal's EOF character. */
  readonly closeStdin: (() => Promise<void>) | null;
  /** PTY only. */
  readonly resize: ((rows: number, cols: number) => void) | null;
  readonly status: Promise<ExitStatus>;
  /**
   * The `pipe:[inode]` identities of the child's stdio pipes (as `readlink /proc/<pid>/fd/N` shows them),
   * empty for a pty; whoever still holds one after the child exited is an escaped descendant that
   * termination must find. Absent when unknown.
   */
  readonly stdioPipes?: ReadonlySet<string>;
  /** The child's own cgroup, holding every descendant, where cgroups v2 can be used (see containment.ts). */
  readonly tree?: ContainedTree;
  /**
   * Where there is no cgroup: takes the child's process group off the group keeper's list (see
   * `group_keeper.ts`). Absent when no keeper runs.
   */
  readonly unwatchGroup?: () => void;
  /** Releases OS resources once the child has exited and its output drained. */
  dispose(): void;
}
