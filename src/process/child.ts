/** The shape every spawned child (pipes or PTY) presents to the process manager. @module */

/** How a child ended: `code` is the exit status, or 128+signal when a signal killed it. */
export interface ExitStatus {
  code: number;
  signal: number | null;
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
  /** Releases OS resources once the child has exited and its output drained. */
  dispose(): void;
}
