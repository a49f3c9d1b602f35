/**
 * One process under management: its seq counter, retained output, exit and close state, long-poll
 * waiters, stdin (`ProcessStdin`), and the route to its termination. The state machine is
 * running -> exited (streams may still be open) -> closed -> evicted (by the table, after retention).
 *
 * Ordering invariants: every event takes the next seq when it is recorded, notifications are queued in
 * seq order, `exited` waits for the pipes to drain (so a child's own output precedes it), and `closed`
 * is always last.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type {
  AckMode,
  OutputStream,
  ProcessReadResult,
  SignalName,
  WriteStatus,
} from "../protocol/process.ts";
import type { NotificationSink } from "../rpc/handler_context.ts";
import type { ExitSummary, SpawnedChild } from "./child.ts";
import { SandboxDenialWatch } from "./sandbox_denial.ts";
import { ProcessStdin } from "./process_stdin.ts";
import { AckModeMemory, AUTO_ACK_DECISION_MS } from "./ack_mode_memory.ts";
import { OutputLog } from "./output_log.ts";
import { terminateTree } from "./process_tree.ts";
import { signalGroup } from "./signal_group.ts";
import { waitForWake } from "../util/wake_wait.ts";

/** Tunables for a managed process. */
export interface ManagedProcessOptions {
  /** Bound on retained output: decoded bytes plus a per-chunk overhead (see OutputLog). */
  retainBytes: number;
  /** SIGTERM-to-SIGKILL grace for terminate and shutdown. */
  terminateGraceMs: number;
  /** How long `exited` waits for the pipes to reach EOF before a descendant is assumed to hold them. */
  exitDrainMs: number;
  ackMode: AckMode;
  /** The child's stdio pipes (`pipe:[inode]`), to find escaped descendants at termination. */
  pipes?: ReadonlySet<string>;
  /** What `auto` ack mode learned about this client from its earlier processes (one per session). */
  ackMemory?: AckModeMemory;
  /** Overrides {@link AUTO_ACK_DECISION_MS} (tests). */
  autoAckDecisionMs?: number;
  /** The process runs under a restricted sandbox: its output is watched for denials (`sandboxDenied`). */
  sandboxed?: boolean;
  /** A server-wide tally that every chunk of output read is added to (metrics). */
  outputCounter?: { bytes: number };
}

/** A process and everything the protocol knows about it. */
export class ManagedProcess {
  readonly id: string;
  readonly tty: boolean;
  readonly pid: number;
  readonly #child: SpawnedChild;
  readonly #sink: NotificationSink;
  readonly #options: ManagedProcessOptions;
  readonly #log: OutputLog;
  readonly #ackMemory: AckModeMemory;
  /** `process/output` up to the seq's digits. */
  readonly #outputPrefix: string;
  #ackModeChosen: boolean;
  #ackDecisionTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #startedAt = performance.now();
  #nextSeq = 1;
  #exited = false;
  #exitCode: number | null = null;
  #closed = false;
  #openStreams: number;
  #pausedReaders = 0;
  #streamsDone: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  #waiters = new Set<() => void>();
  #closedWaiters: Array<() => void> = [];
  #termination: Promise<void> | null = null;
  /** A `process/terminate` after the root exited, ending what it left behind. */
  #leftovers: Promise<void> | null = null;
  readonly #stdin: ProcessStdin;
  #onClosed: (process: ManagedProcess) => void;
  readonly #denial: SandboxDenialWatch | null;
  #outputBytes = 0;
  readonly #exit = Promise.withResolvers<ExitSummary>();

  constructor(
    id: string,
    child: SpawnedChild,
    options: ManagedProcessOptions & {
      tty: boolean;
      sink: NotificationSink;
      onClosed: (p: ManagedProcess) => void;
    },
  ) {
    this.id = id;
    this.tty = options.tty;
    this.pid = child.pid;
    this.#child = child;
    this.#sink = options.sink;
    this.#options = options;
    this.#onClosed = options.onClosed;
    this.#outputPrefix = `{"jsonrpc":"2.0","method":"process/output","params":{"processId":${
      JSON.stringify(id)
    },"seq":`;
    this.#ackModeChosen = options.ackMode !== "auto";
    this.#ackMemory = options.ackMemory ?? new AckModeMemory();
    // `client` frees room as `read` does, by acknowledgements (process/ack rather than read cursors).
    this.#log = new OutputLog(
      options.retainBytes,
      options.ackMode === "auto" ? "undecided" : options.ackMode === "client" ? "read" : options.ackMode,
    );
    this.#denial = options.sandboxed ? new SandboxDenialWatch() : null;
    this.#openStreams = child.outputs.length;
    this.#stdin = new ProcessStdin(child, options.tty);
    for (const output of child.outputs) this.#pump(output.name, output.stream);
    if (this.#openStreams === 0) this.#streamsDone.resolve();
    this.#watchExit();
  }

  /** The session's connection is gone: notifications it had in flight will never be confirmed. */
  connectionLost(): void {
    this.#log.forgetInFlight();
  }

  /** Whether the sandbox likely refused what the exited process tried (false while it runs). */
  get sandboxDenied(): boolean {
    return this.#denial !== null && this.#exitCode !== null && this.#denial.deniedAt(this.#exitCode);
  }

  get exited(): boolean {
    return this.#exited;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Resolves once `exited` has been recorded. */
  whenExited(): Promise<ExitSummary> {
    return this.#exit.promise;
  }

  /** Resolves once `closed` has been recorded. */
  whenClosed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  async #pump(stream: OutputStream, readable: ReadableStream<Uint8Array>): Promise<void> {
    const reader = readable.getReader();
    try {
      for (;;) {
        if (!this.#log.hasRoom) {
          this.#decideAckModeLater();
          await this.#paused(this.#log.whenRoom());
        }
        await this.#paused(this.#sink.whenWritable());
        const { value, done } = await reader.read();
        if (done) break;
        if (value.length > 0) this.#recordOutput(stream, value);
      }
    } catch {
      // A read error (EIO on a PTY whose slave closed) is the end of the stream.
    } finally {
      reader.releaseLock();
      this.#openStreams--;
      if (this.#openStreams === 0) this.#streamsDone.resolve();
      this.#maybeClose();
    }
  }

  /**
   * `auto` mode filled its bound before any `process/read`: a pulling client (Codex's shell) reads
   * right after start, so wait briefly for one; if none comes, the client consumes notifications
   * (Codex's MCP path) and written notifications may free room from now on.
   */
  #decideAckModeLater(): void {
    if (this.#ackModeChosen || this.#ackDecisionTimer !== null) return;
    const memory = this.#ackMemory;
    const decide = () => {
      if (this.#ackModeChosen) return;
      this.#ackModeChosen = true;
      this.#log.ackMode = "notification";
      memory.learned ??= "notification";
    };
    // The clock runs from the start: a process that fills its bound late is not held up at all.
    const remaining = memory.learned === "notification"
      ? 0
      : (this.#options.autoAckDecisionMs ?? AUTO_ACK_DECISION_MS) - (performance.now() - this.#startedAt);
    if (remaining <= 0) decide();
    else this.#ackDecisionTimer = setTimeout(decide, remaining);
  }

  async #paused(wait: Promise<void>): Promise<void> {
    this.#pausedReaders++;
    try {
      await wait;
    } finally {
      this.#pausedReaders--;
    }
  }

  #recordOutput(stream: OutputStream, bytes: Uint8Array): void {
    const seq = this.#nextSeq++;
    this.#outputBytes += bytes.length;
    if (this.#options.outputCounter) this.#options.outputCounter.bytes += bytes.length;
    this.#denial?.observe(bytes);
    this.#log.append(seq, stream, bytes);
    // Built by template and sent in parts, the chunk as bytes: its base64 (which needs no JSON escaping)
    // is made only as the transport writes it (see WriteQueue). A view into a larger buffer is copied
    // first, so a queued tiny chunk never pins a big one. Same members, same order as encodeNotification.
    const payload = bytes.byteLength * 2 < bytes.buffer.byteLength ? bytes.slice() : bytes;
    this.#sink.notifyEncoded(
      [`${this.#outputPrefix}${seq},"stream":"${stream}","chunk":"`, payload, '"}}'],
      () => this.#log.noteSent(seq, bytes.length),
      () => this.#log.acknowledgeNotification(seq),
    );
    this.#wake();
  }

  async #watchExit(): Promise<void> {
    const status = await this.#child.status;
    // Let the pipes drain so the child's own output gets lower seqs than `exited`. If they stay open
    // while we are free to read, a descendant holds them: record the exit and keep reading after it.
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        this.#streamsDone.promise.then(() => true),
        new Promise<boolean>((
          resolve,
        ) => (timer = setTimeout(() => resolve(false), this.#options.exitDrainMs))),
      ]);
      clearTimeout(timer);
      if (drained || this.#pausedReaders === 0 || this.#termination !== null) break;
    }
    this.#exited = true;
    this.#exitCode = status.code;
    const durationMs = Math.round(performance.now() - this.#startedAt);
    this.#exit.resolve({ ...status, durationMs, outputBytes: this.#outputBytes });
    const seq = this.#nextSeq++;
    this.#sink.notify("process/exited", {
      processId: this.id,
      seq,
      exitCode: status.code,
      sandboxDenied: this.sandboxDenied,
    });
    this.#wake();
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (this.#closed || !this.#exited || this.#openStreams > 0) return;
    this.#closed = true;
    const seq = this.#nextSeq++;
    this.#sink.notify("process/closed", { processId: this.id, seq });
    this.#child.dispose();
    if (this.#ackDecisionTimer !== null) clearTimeout(this.#ackDecisionTimer);
    this.#wake();
    for (const wake of this.#closedWaiters.splice(0)) wake();
    this.#onClosed(this);
  }

  #wake(): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** `process/read`: retained output after `afterSeq`, long-polling up to `waitMs` for something new. */
  async read(
    afterSeq: number,
    maxBytes: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<ProcessReadResult> {
    if (!this.#ackModeChosen) {
      this.#ackModeChosen = true;
      this.#log.ackMode = "read";
    }
    this.#ackMemory.learned = "read";
    this.#log.acknowledgeRead(afterSeq);
    const deadline = performance.now() + waitMs;
    while (!this.#readReady(afterSeq)) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await waitForWake(this.#waiters, remaining, signal);
    }
    const page = this.#log.page(afterSeq, maxBytes);
    const last = page.chunks.at(-1);
    // Once closed and the page holds the last chunk, nothing is left to read: point past `closed`, as
    // Codex 0.171 does. A page cut short by `maxBytes` still resumes at its next chunk.
    const complete = last === undefined || !this.#log.hasChunksAfter(last.seq);
    return {
      chunks: page.chunks.map(({ seq, stream, chunk }) => ({ seq, stream, chunk })),
      nextSeq: this.#closed && complete ? this.#nextSeq : last ? last.seq + 1 : this.#nextSeq,
      exited: this.#exited,
      exitCode: this.#exitCode,
      closed: this.#closed,
      failure: null,
      droppedBytes: page.droppedBytes,
      sandboxDenied: this.sandboxDenied,
    };
  }

  /** The admin read: output after `afterSeq`, not acknowledged, waiting up to `waitMs`; returns the next cursor. */
  async peek(afterSeq: number, maxBytes: number, waitMs: number, signal: AbortSignal) {
    this.#log.noteFollower();
    const deadline = performance.now() + waitMs;
    while (!this.#readReady(afterSeq) && !signal.aborted && performance.now() < deadline) {
      await waitForWake(this.#waiters, deadline - performance.now(), signal);
    }
    const page = this.#log.page(afterSeq, maxBytes);
    const next = page.more ? page.chunks.at(-1)!.seq : Math.max(afterSeq, this.#nextSeq - 1);
    return { ...page, afterSeq: next, closed: this.#closed };
  }

  get outputBytes(): number {
    return this.#outputBytes;
  }
  #readReady(afterSeq: number): boolean {
    return this.#log.hasChunksAfter(afterSeq) || this.#closed ||
      (this.#exited && afterSeq < this.#nextSeq - 1);
  }

  /**
   * `process/ack` (extension): the client has consumed everything up to `seq`. It frees room in every
   * mode, and never decides `auto` (a pulling client acknowledges with its reads).
   */
  acknowledge(seq: number): void {
    this.#log.acknowledgeRead(Math.min(seq, this.#nextSeq - 1));
  }

  /** `process/write` (see {@link ProcessStdin.write}). */
  write(data: Uint8Array, writeId?: string): Promise<WriteStatus> {
    return this.#stdin.write(data, writeId, this.#termination !== null);
  }

  /** `process/closeStdin` (extension): EOF after everything already queued. */
  closeStdin(): Promise<WriteStatus> {
    return this.#stdin.close();
  }

  /** `process/resize` (extension). */
  resize(rows: number, cols: number): void {
    if (!this.#child.resize) throw RpcError.invalidRequest(`process ${this.id} is not a tty process`);
    if (!this.#exited) this.#child.resize(rows, cols);
  }

  /** `process/signal`: delivered to the process group; a no-op once the process has exited. */
  signal(name: SignalName): void {
    if (!this.#exited) signalGroup(this.pid, name);
  }

  /**
   * Ends the whole tree (group plus escaped descendants): SIGTERM, then SIGKILL after the grace.
   * Returns whether the process was still running. Output keeps being collected, so the reported exit
   * code is the real one.
   */
  terminate(options: { immediate?: boolean } = {}): boolean {
    const immediate = options.immediate ?? false;
    if (!this.#exited) {
      this.#startTermination(immediate);
      return true;
    }
    // The root is gone, but what it left behind (in its cgroup, or holding its pipes) is still ours to end.
    this.#leftovers ??= this.#terminateTree(immediate).finally(() => (this.#leftovers = null));
    return false;
  }

  #startTermination(immediate: boolean): void {
    this.#termination ??= this.#terminateTree(immediate);
  }

  #terminateTree(immediate: boolean): Promise<void> {
    return terminateTree(this.pid, {
      graceMs: this.#options.terminateGraceMs,
      rootExited: this.#child.status,
      immediate,
      pipes: this.#options.pipes,
      tree: this.#child.tree,
    });
  }

  /**
   * Kills what is left of the tree and frees its cgroup (or, without one, kills what is left of its process
   * group) and its retained output: the entry's end (eviction, shutdown), which with cgroups nothing outlives.
   */
  release(): Promise<void> {
    this.#log.dispose();
    if (this.#child.tree) return this.#child.tree.release();
    if (this.#child.unwatchGroup) {
      try {
        Deno.kill(-this.pid, "SIGKILL"); // leftovers of the group; ESRCH when it is empty
      } catch {
        // Empty already.
      }
      this.#child.unwatchGroup();
    }
    return Promise.resolve();
  }

  /** Terminates (if running) and resolves once the process is closed. Used by every shutdown path. */
  async shutdown(options: { immediate?: boolean } = {}): Promise<void> {
    // Even after the root exited, its group (or escaped descendants) may still hold the pipes open.
    const immediate = options.immediate ?? false;
    if (!this.#closed) this.#startTermination(immediate);
    else if (this.#child.tree && !this.#child.tree.isEmpty()) this.terminate({ immediate });
    await this.#termination;
    await this.#leftovers;
    // Output no one will read must not hold the pipes (and so `closed`) hostage.
    this.#log.ackMode = "notification";
    this.#log.acknowledgeRead(Number.MAX_SAFE_INTEGER);
    this.#log.releaseWaiters();
    await this.whenClosed();
    await this.release();
  }
}
