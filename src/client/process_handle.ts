/**
 * A started remote process: an ordered event stream (reordered by seq, duplicates dropped, gaps filled
 * with `process/read`), plus stdin, signals, resize and terminate.
 *
 * @module
 */
import type { RequestType } from "../protocol/methods.ts";
import {
  ProcessCloseStdin,
  ProcessRead,
  ProcessResize,
  ProcessSignal,
  ProcessTerminate,
  ProcessWrite,
} from "../protocol/methods.ts";
import type { ProcessReadParams, ProcessReadResult, SignalName, WriteStatus } from "../protocol/process.ts";
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { log } from "../util/log.ts";
import type {
  ProcessEvent,
  ProcessOutcome,
  ProcessOutputEvent,
  SequencedProcessEvent,
} from "./process_event.ts";
import { SeqReorderBuffer } from "./seq_reorder_buffer.ts";

/** What a handle needs from its client. */
export interface ProcessHost {
  /** Sends a typed request on the current connection. */
  request<P, R>(descriptor: RequestType<P, R>, params: P): Promise<R>;
  /** The handle is finished: stop routing notifications to it. */
  releaseProcess(processId: string): void;
}

/** Tunables of a {@link ProcessHandle}. */
export interface ProcessHandleOptions {
  /** Undelivered output the event stream may hold before live events are dropped and caught up later. */
  maxBufferedBytes?: number;
  /** How long a seq gap may persist before `process/read` fills it. */
  gapGraceMs?: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DEFAULT_GAP_GRACE_MS = 100;
const CATCH_UP_PAGE_BYTES = 1024 * 1024;
/** A bound on catch-up pages (output is bounded by the server's retention anyway). */
const MAX_CATCH_UP_PAGES = 100_000;
const EVENT_OVERHEAD_BYTES = 64;

/** One remote process. Obtain it from `ExecServerClient.startProcess`. */
export class ProcessHandle {
  /** The client-chosen process id. */
  readonly processId: string;
  /** Ordered events; read it (or cancel it) so {@link wait} is never held up by a full buffer. */
  readonly events: ReadableStream<ProcessEvent>;

  readonly #host: ProcessHost;
  readonly #buffer = new SeqReorderBuffer<SequencedProcessEvent>();
  readonly #gapGraceMs: number;
  #controller!: ReadableStreamDefaultController<ProcessEvent>;
  #outcome = Promise.withResolvers<ProcessOutcome>();
  #exitCode: number | null = null;
  #finished = false;
  #streamCancelled = false;
  #lagging = false;
  #gapTimer: ReturnType<typeof setTimeout> | null = null;
  #catchingUp = false;
  #catchUpAgain = false;

  constructor(processId: string, host: ProcessHost, options: ProcessHandleOptions = {}) {
    this.processId = processId;
    this.#host = host;
    this.#gapGraceMs = options.gapGraceMs ?? DEFAULT_GAP_GRACE_MS;
    this.events = new ReadableStream<ProcessEvent>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        // The consumer caught up with a lagging stream: fetch what was dropped meanwhile.
        if (this.#lagging && !this.#finished) {
          this.#lagging = false;
          this.catchUp();
        }
      },
      cancel: () => {
        this.#streamCancelled = true;
        this.#lagging = false;
      },
    }, {
      highWaterMark: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      size: (event) => (event.type === "output" ? event.chunk.length : 0) + EVENT_OVERHEAD_BYTES,
    });
    this.#outcome.promise.catch(() => {});
  }

  /** Iterates the events (see {@link events}). */
  [Symbol.asyncIterator](): AsyncIterator<ProcessEvent> {
    return this.events.values();
  }

  /** The exit code once the `exited` event has been published. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** True once `closed` or `failed` was published. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The highest seq published (0 before any). */
  get lastSeq(): number {
    return this.#buffer.lastSeq;
  }

  /** Resolves once the process is closed (all output published) or failed. Never rejects. */
  wait(): Promise<ProcessOutcome> {
    return this.#outcome.promise;
  }

  /** Writes bytes (or UTF-8 text) to stdin (or the PTY). */
  async write(data: Uint8Array | string): Promise<WriteStatus> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const result = await this.#host.request(ProcessWrite, {
      processId: this.processId,
      chunk: encodeBase64(bytes),
    });
    return result.status;
  }

  /** Closes stdin (EOF for pipes; the EOF character for a PTY). Extension: not in Codex 0.140.0. */
  async closeStdin(): Promise<WriteStatus> {
    return (await this.#host.request(ProcessCloseStdin, { processId: this.processId })).status;
  }

  /** Resizes the PTY. Extension: not in Codex 0.140.0. */
  async resize(rows: number, cols: number): Promise<void> {
    await this.#host.request(ProcessResize, { processId: this.processId, rows, cols });
  }

  /** Sends a signal to the process group (`interrupt` is the only one Codex 0.140.0 knows). */
  async signal(signal: SignalName): Promise<void> {
    await this.#host.request(ProcessSignal, { processId: this.processId, signal });
  }

  /** Kills the process tree; resolves with whether it was still running. */
  async terminate(): Promise<boolean> {
    return (await this.#host.request(ProcessTerminate, { processId: this.processId })).running;
  }

  /** A raw `process/read` (pull mode); does not affect the event stream. */
  read(params: Omit<ProcessReadParams, "processId"> = {}): Promise<ProcessReadResult> {
    return this.#host.request(ProcessRead, { ...params, processId: this.processId });
  }

  /** @internal Routes one notification's event (from the client). */
  accept(event: SequencedProcessEvent): void {
    if (this.#finished || this.#lagging) return;
    this.#publish(this.#buffer.push(event));
    if (this.#buffer.overflowed) {
      this.catchUp();
    } else if (this.#buffer.hasGap && this.#gapTimer === null) {
      // Usually a reorder that heals within microseconds; only a persistent gap costs a read.
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = null;
        if (this.#buffer.hasGap && !this.#finished) this.catchUp();
      }, this.#gapGraceMs);
    }
  }

  /**
   * @internal Fills everything after the last published seq from `process/read` (after a gap, a lagging
   * consumer, or a session resume, where notifications sent while detached are lost).
   */
  async catchUp(): Promise<void> {
    if (this.#finished) return;
    if (this.#catchingUp) {
      this.#catchUpAgain = true;
      return;
    }
    this.#catchingUp = true;
    try {
      do {
        this.#catchUpAgain = false;
        await this.#catchUpOnce();
      } while (this.#catchUpAgain && !this.#finished);
    } catch (error) {
      // A disconnect fails the handle through the client; anything else is reported here.
      if (!this.#finished) {
        log.debug(`process ${this.processId}: catch-up failed: ${(error as Error).message}`);
      }
    } finally {
      this.#catchingUp = false;
    }
  }

  /** @internal The client lost the process: publish `failed` and settle {@link wait}. */
  fail(message: string): void {
    if (this.#finished) return;
    this.#enqueue({ type: "failed", message });
    this.#finish({ exitCode: this.#exitCode, failure: message });
  }

  async #catchUpOnce(): Promise<void> {
    const recovered: SequencedProcessEvent[] = [];
    let cursor = this.#buffer.lastSeq;
    const skipped: number[] = [];
    for (let page = 0; page < MAX_CATCH_UP_PAGES; page++) {
      const result = await this.read({ afterSeq: cursor, maxBytes: CATCH_UP_PAGE_BYTES, waitMs: 0 });
      if (this.#finished) return;
      if (result.droppedBytes) {
        this.#enqueue({ type: "dropped", bytes: result.droppedBytes, afterSeq: cursor });
      }
      if (result.chunks.length > 0) {
        for (const chunk of result.chunks) {
          for (let missing = cursor + 1; missing < chunk.seq; missing++) skipped.push(missing);
          recovered.push({
            type: "output",
            seq: chunk.seq,
            stream: chunk.stream,
            chunk: decodeBase64(chunk.chunk),
          });
          cursor = chunk.seq;
        }
        continue;
      }
      // No chunks: nextSeq is the next unassigned seq, so everything below it is accounted for.
      for (let missing = cursor + 1; missing < result.nextSeq; missing++) skipped.push(missing);
      const closedSeq = result.closed ? result.nextSeq - 1 : null;
      if (closedSeq !== null) skipped.pop();
      if (result.exited && result.exitCode !== null && this.#exitCode === null) {
        // The exit took one of the seqs no chunk carries; the latest one is the best guess.
        const exitSeq = skipped.at(-1) ?? (closedSeq ?? result.nextSeq) - 1;
        if (exitSeq > this.#buffer.lastSeq) {
          recovered.push({ type: "exited", seq: exitSeq, exitCode: result.exitCode });
        }
      }
      if (closedSeq !== null) recovered.push({ type: "closed", seq: closedSeq });
      break;
    }
    this.#publish(this.#buffer.advance(recovered));
  }

  #publish(events: SequencedProcessEvent[]): void {
    for (const event of events) {
      if (this.#finished) return;
      if (event.type === "exited") this.#exitCode = event.exitCode;
      this.#enqueue(event);
      if (event.type === "closed") this.#finish({ exitCode: this.#exitCode, failure: null });
    }
  }

  #enqueue(event: ProcessEvent): void {
    if (this.#streamCancelled) return;
    this.#controller.enqueue(event);
    if ((this.#controller.desiredSize ?? 1) < 0 && event.type === "output") {
      // The consumer is far behind: stop taking live events (see accept) and re-read them later.
      this.#lagging = true;
    }
  }

  #finish(outcome: ProcessOutcome): void {
    this.#finished = true;
    if (this.#gapTimer !== null) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    if (!this.#streamCancelled) {
      try {
        this.#controller.close();
      } catch {
        // Already closed.
      }
    }
    this.#host.releaseProcess(this.processId);
    this.#outcome.resolve(outcome);
  }
}

/** Output of a process, collected by stream. */
export interface CollectedOutput {
  stdout: Uint8Array;
  stderr: Uint8Array;
  pty: Uint8Array;
}

/** Concatenates output events by stream. */
export function collectOutput(events: ProcessOutputEvent[]): CollectedOutput {
  const parts: Record<string, Uint8Array[]> = { stdout: [], stderr: [], pty: [] };
  for (const event of events) parts[event.stream].push(event.chunk);
  return { stdout: concat(parts.stdout), stderr: concat(parts.stderr), pty: concat(parts.pty) };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
