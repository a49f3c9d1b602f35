/**
 * A started remote process: an ordered event stream (reordered by seq, duplicates dropped, gaps filled
 * with `process/read`), plus stdin, signals, resize and terminate.
 *
 * Flow control: events wait in the handle until the consumer pulls them, and the handle acknowledges
 * (`process/ack`) only what was pulled. The server keeps everything unacknowledged and pauses the child
 * when its bound is full, so a slow consumer slows the producer and a dropped connection loses nothing.
 * Against a server without `process/ack` (Codex's), a consumer that falls far behind makes the handle
 * drop live events and re-read them; anything the server no longer has is then reported as `dropped`
 * and makes the outcome a failure.
 *
 * @module
 */
import type { RequestType } from "../protocol/methods.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  ProcessAck,
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
import { ExecServerClientError } from "./client_error.ts";
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
  /**
   * Against a server without `process/ack`: undelivered output the handle may hold before live events are
   * dropped and caught up later. (With acknowledgements the server's retention bound limits it.)
   */
  maxBufferedBytes?: number;
  /** How long a seq gap may persist before `process/read` fills it. */
  gapGraceMs?: number;
}

/** What the client tells a handle about its process beyond the tunables. */
export interface ProcessHandleRoute {
  /** The process was started with `ackMode: "client"`: acknowledge consumed output with `process/ack`. */
  acknowledges: boolean;
}

const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DEFAULT_GAP_GRACE_MS = 100;
const CATCH_UP_PAGE_BYTES = 1024 * 1024;
/** A bound on catch-up pages (output is bounded by the server's retention anyway). */
const MAX_CATCH_UP_PAGES = 100_000;
const EVENT_OVERHEAD_BYTES = 64;
/** Consumed output that triggers a `process/ack` even while the consumer is still behind. */
const ACK_EVERY_BYTES = 256 * 1024;

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
  readonly #maxBufferedBytes: number;
  /** Published events the consumer has not pulled yet. */
  #queue: ProcessEvent[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #pullPending = false;
  #streamClosed = false;
  /** Highest seq the consumer pulled, the one last acknowledged, and bytes pulled since that ack. */
  #consumedSeq = 0;
  #ackedSeq = 0;
  #bytesSinceAck = 0;
  #acking = false;
  #acksSupported = true;
  #lostBytes = 0;
  #outcome = Promise.withResolvers<ProcessOutcome>();
  #exitCode: number | null = null;
  #finished = false;
  #streamCancelled = false;
  #lagging = false;
  #gapTimer: ReturnType<typeof setTimeout> | null = null;
  #catchingUp = false;
  #catchUpAgain = false;

  constructor(
    processId: string,
    host: ProcessHost,
    options: ProcessHandleOptions = {},
    route: ProcessHandleRoute = { acknowledges: true },
  ) {
    this.processId = processId;
    this.#acksSupported = route.acknowledges;
    this.#host = host;
    this.#gapGraceMs = options.gapGraceMs ?? DEFAULT_GAP_GRACE_MS;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    // High-water mark 0: `pull` runs exactly when the consumer asks, so the handle knows what it took.
    this.events = new ReadableStream<ProcessEvent>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => this.#onPull(),
      cancel: () => {
        this.#streamCancelled = true;
        this.#lagging = false;
        // Nobody will read what is queued: let the server free it.
        for (let i = this.#queueHead; i < this.#queue.length; i++) this.#consumed(this.#queue[i]);
        this.#queue = [];
        this.#queueHead = 0;
        this.#queuedBytes = 0;
        this.#maybeAck(true);
      },
    }, { highWaterMark: 0 });
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

  /**
   * Writes bytes (or UTF-8 text) to stdin (or the PTY). Each write carries a fresh `writeId`, so when the
   * connection drops mid-write the client resends it after the resume and the bytes arrive once.
   */
  async write(data: Uint8Array | string): Promise<WriteStatus> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const result = await this.#host.request(ProcessWrite, {
      processId: this.processId,
      chunk: encodeBase64(bytes),
      writeId: crypto.randomUUID(),
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
    if (event.type === "dropped") this.#lostBytes += event.bytes;
    if (this.#streamCancelled) {
      this.#consumed(event);
      this.#maybeAck(true);
      return;
    }
    if (this.#pullPending) {
      this.#pullPending = false;
      this.#deliver(event);
      return;
    }
    this.#queue.push(event);
    this.#queuedBytes += eventSize(event);
    if (!this.#acksSupported && this.#queuedBytes > this.#maxBufferedBytes && event.type === "output") {
      // No flow control with this server and the consumer is far behind: stop taking live events (see
      // accept) and re-read them once it catches up.
      this.#lagging = true;
    }
  }

  #onPull(): void {
    if (this.#queueHead < this.#queue.length) {
      const event = this.#queue[this.#queueHead];
      this.#queue[this.#queueHead++] = undefined as unknown as ProcessEvent;
      this.#queuedBytes -= eventSize(event);
      if (this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#deliver(event);
      return;
    }
    if (this.#finished) return this.#closeStream();
    this.#pullPending = true;
    // The consumer caught up with a lagging stream: fetch what was dropped meanwhile.
    if (this.#lagging) {
      this.#lagging = false;
      this.catchUp();
    }
  }

  #deliver(event: ProcessEvent): void {
    this.#controller.enqueue(event);
    this.#consumed(event);
    const drained = this.#queueHead >= this.#queue.length;
    this.#maybeAck(drained);
    if (drained && this.#finished) this.#closeStream();
  }

  #consumed(event: ProcessEvent): void {
    if ("seq" in event && event.seq > this.#consumedSeq) this.#consumedSeq = event.seq;
    if (event.type === "output") this.#bytesSinceAck += event.chunk.length;
  }

  /** Acknowledges what was consumed: at once when the consumer has caught up, else every 256 KiB. */
  #maybeAck(caughtUp: boolean): void {
    if (!this.#acksSupported || this.#acking || this.#finished) return;
    if (this.#consumedSeq <= this.#ackedSeq) return;
    if (!caughtUp && this.#bytesSinceAck < ACK_EVERY_BYTES) return;
    const seq = this.#consumedSeq;
    this.#acking = true;
    this.#bytesSinceAck = 0;
    this.#host.request(ProcessAck, { processId: this.processId, seq }).then(() => {
      this.#ackedSeq = Math.max(this.#ackedSeq, seq);
    }, (error) => {
      if (error instanceof ExecServerClientError && error.code === ErrorCode.MethodNotFound) {
        // Codex's server: no flow control; fall back to dropping and re-reading (see #enqueue).
        this.#acksSupported = false;
      }
      // Anything else (disconnect, process already gone) is settled elsewhere; a later ack covers it.
    }).finally(() => {
      this.#acking = false;
      this.#maybeAck(this.#queueHead >= this.#queue.length);
    });
  }

  #closeStream(): void {
    if (this.#streamClosed || this.#streamCancelled) return;
    this.#streamClosed = true;
    try {
      this.#controller.close();
    } catch {
      // Already closed.
    }
  }

  #finish(outcome: ProcessOutcome): void {
    this.#finished = true;
    if (this.#gapTimer !== null) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    // Queued events stay readable: the stream closes once the consumer has pulled them.
    if (this.#queueHead >= this.#queue.length && this.#pullPending) this.#closeStream();
    this.#host.releaseProcess(this.processId);
    if (outcome.failure === null && this.#lostBytes > 0) {
      outcome = {
        ...outcome,
        failure: `${this.#lostBytes} bytes of output were lost (evicted by the server before they were read)`,
      };
    }
    this.#outcome.resolve(outcome);
  }
}

function eventSize(event: ProcessEvent): number {
  return (event.type === "output" ? event.chunk.length : 0) + EVENT_OVERHEAD_BYTES;
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
