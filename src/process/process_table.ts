/**
 * A session's processes, keyed by the client's `processId`: start (with env policy, cwd and spawn
 * mode), lookup, retention after close, eviction, and shutdown of everything.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { ProcessStartParams } from "../protocol/process.ts";
import type { NotificationSink } from "../rpc/handler_context.ts";
import { buildChildEnv } from "./env_policy.ts";
import { AckModeMemory } from "./ack_mode_memory.ts";
import { withCodexSandboxAlias } from "./codex_sandbox_alias.ts";
import { ManagedProcess, type ManagedProcessOptions } from "./managed_process.ts";
import { DEFAULT_PTY_COLS, DEFAULT_PTY_ROWS, spawnChild } from "./spawn_child.ts";

/** Limits and timings for a table. */
export interface ProcessTableOptions extends Omit<ManagedProcessOptions, "ackMode"> {
  /** How long a closed process stays readable. */
  retentionMs: number;
  /** Entries (running or retained) allowed at once. */
  maxProcesses: number;
}

/** What the admin surface shows of a process beyond its state: how it was started, and when. */
export interface ProcessFacts {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly sandboxed: boolean;
  /** Unix milliseconds. */
  readonly startedAt: number;
  /** Unix milliseconds when `exited` was recorded, or null. */
  endedAt: number | null;
  /** A tty process's terminal size (as started, then as last resized); null for pipes. */
  size: { rows: number; cols: number } | null;
}

/** The process namespace of one session. */
export class ProcessTable {
  readonly #processes = new Map<string, ManagedProcess>();
  readonly #facts = new WeakMap<ManagedProcess, ProcessFacts>();
  readonly #evictionTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #options: ProcessTableOptions;
  readonly #sink: NotificationSink;
  /** How this session's client consumes output, learned by `ackMode: "auto"` (see AckModeMemory). */
  readonly #ackMemory = new AckModeMemory();

  constructor(options: ProcessTableOptions, sink: NotificationSink) {
    this.#options = options;
    this.#sink = sink;
  }

  /** The entry for `processId`, if not evicted. */
  get(processId: string): ManagedProcess | undefined {
    return this.#processes.get(processId);
  }

  /** Every entry (running or retained) with its facts, for the admin surface. */
  list(): { process: ManagedProcess; facts: ProcessFacts }[] {
    return [...this.#processes.values()].map((process) => ({ process, facts: this.#facts.get(process)! }));
  }

  /** `process/resize`: resizes `process`'s terminal and keeps its size in its facts. */
  resize(process: ManagedProcess, rows: number, cols: number): void {
    process.resize(rows, cols);
    const facts = this.#facts.get(process);
    if (facts?.size) facts.size = { rows, cols };
  }

  /**
   * `process/start`. Synchronous up to registration, so a request pipelined right behind the start
   * always finds the process (there is no observable "starting" state). `wrapper` is a command prefix
   * (a bubblewrap sandbox) to run the argv under.
   */
  start(params: ProcessStartParams, resolveCwd: (cwd: string) => string, wrapper?: string[]): ManagedProcess {
    const id = params.processId;
    if (this.#processes.has(id)) throw RpcError.invalidRequest(`process ${id} already exists`);
    if (params.argv.length === 0) throw RpcError.invalidParams("argv must not be empty");
    if (this.#processes.size >= this.#options.maxProcesses) {
      throw RpcError.invalidRequest(
        `too many processes in this session (limit ${this.#options.maxProcesses}; raise it with --max-processes)`,
      );
    }
    const cwd = resolveCwd(params.cwd);
    const env = withCodexSandboxAlias(
      params.argv[0],
      params.arg0,
      buildChildEnv(params.env, params.envPolicy),
    );
    const child = spawnChild({ ...params, cwd, env, wrapper });
    const process = new ManagedProcess(id, child, {
      ...this.#options,
      // After the root exits, whoever still holds its stdio pipes is an escaped descendant that
      // termination must find (the ppid walk cannot, once it is re-parented to init).
      pipes: child.stdioPipes,
      ackMode: params.ackMode ?? "auto",
      ackMemory: this.#ackMemory,
      tty: params.tty,
      sink: this.#sink,
      onClosed: (p) => this.#scheduleEviction(p),
      sandboxed: wrapper !== undefined,
    });
    const facts: ProcessFacts = {
      argv: params.argv,
      cwd,
      sandboxed: wrapper !== undefined,
      startedAt: Date.now(),
      endedAt: null,
      size: params.tty
        ? { rows: params.rows ?? DEFAULT_PTY_ROWS, cols: params.cols ?? DEFAULT_PTY_COLS }
        : null,
    };
    this.#facts.set(process, facts);
    process.whenExited().then(() => (facts.endedAt = Date.now()));
    this.#processes.set(id, process);
    return process;
  }

  #scheduleEviction(process: ManagedProcess): void {
    const timer = setTimeout(() => {
      this.#evictionTimers.delete(process.id);
      if (this.#processes.get(process.id) === process) this.#processes.delete(process.id);
      void process.release();
    }, this.#options.retentionMs);
    Deno.unrefTimer(timer as unknown as number);
    this.#evictionTimers.set(process.id, timer);
  }

  /** The session lost its connection: see {@link ManagedProcess.connectionLost}. */
  connectionLost(): void {
    for (const process of this.#processes.values()) process.connectionLost();
  }

  /** Ends every process tree and resolves when all are closed. Every shutdown path comes here. */
  async shutdownAll(options: { immediate?: boolean } = {}): Promise<void> {
    await Promise.all([...this.#processes.values()].map((p) => p.shutdown(options)));
    for (const timer of this.#evictionTimers.values()) clearTimeout(timer);
    this.#evictionTimers.clear();
    this.#processes.clear();
  }
}
