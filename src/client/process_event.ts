/** The events a {@link ProcessHandle} publishes, in seq order. @module */
import type { OutputStream } from "../protocol/process.ts";

/** A chunk of output (`pty` for terminal processes). */
export interface ProcessOutputEvent {
  type: "output";
  seq: number;
  stream: OutputStream;
  chunk: Uint8Array;
}

/** The process exited (`128 + n` for signal `n`; `-1` when the status could not be collected). */
export interface ProcessExitedEvent {
  type: "exited";
  seq: number;
  exitCode: number;
}

/** Exit plus EOF on every output stream: always the last sequenced event. */
export interface ProcessClosedEvent {
  type: "closed";
  seq: number;
}

/** Output the server no longer retained when the client caught up (an honest gap, not silence). */
export interface ProcessDroppedEvent {
  type: "dropped";
  /** Bytes lost after {@link afterSeq}. */
  bytes: number;
  afterSeq: number;
}

/** Unsequenced and final: the client lost the process (transport disconnected, catch-up failed). */
export interface ProcessFailedEvent {
  type: "failed";
  message: string;
}

/** Sequenced events of a process. */
export type SequencedProcessEvent = ProcessOutputEvent | ProcessExitedEvent | ProcessClosedEvent;

/** Everything a process handle's event stream can yield. */
export type ProcessEvent = SequencedProcessEvent | ProcessDroppedEvent | ProcessFailedEvent;

/** How a process ended, as {@link ProcessHandle.wait} reports it. */
export interface ProcessOutcome {
  /** The exit code, or `null` when it is unknown (failure before exit). */
  exitCode: number | null;
  /** Set when the client lost the process (`exec-server transport disconnected`). */
  failure: string | null;
}
