/**
 * Audit events: what clients did on this server, as typed events any number of consumers subscribe to
 * (the log is one, `/metrics` another; an admin console can be a third). Emitting is cheap when nobody
 * listens. Events carry no tokens and no environment values: argv and cwd of a start, paths of fs
 * writes, method and host of an http request.
 *
 * @module
 */
import { log, logEnabled } from "../util/log.ts";

/** Every audit event, by `type`. */
export type AuditEvent =
  | {
    type: "connection.open";
    connectionId: number;
    peer: string;
    clientName: string;
    sessionId: string;
    resumed: boolean;
  }
  | {
    type: "connection.close";
    connectionId: number;
    peer: string;
    /** Null when the connection closed before `initialize`. */
    clientName: string | null;
    sessionId: string | null;
    reason: string;
    durationMs: number;
  }
  | {
    type: "process.start";
    sessionId: string;
    processId: string;
    pid: number;
    argv: readonly string[];
    cwd: string;
    tty: boolean;
    sandboxed: boolean;
  }
  | {
    type: "process.exit";
    sessionId: string;
    processId: string;
    /** Exit status (128 + signal when killed); -1 when it could not be collected. */
    exitCode: number;
    /** Terminating signal number, or null. */
    signal: number | null;
    durationMs: number;
    outputBytes: number;
  }
  | { type: "fs.write"; sessionId: string; method: string; path: string; ok: boolean }
  | { type: "fs.remove"; sessionId: string; method: string; path: string; ok: boolean }
  | { type: "http.request"; sessionId: string; method: string; host: string }
  /** The admin surface (`/admin/...`): `peer` is the operator's address. */
  | { type: "admin.list"; peer: string; sessions: number }
  /** A read of a process's output from its start (the polls that follow it live are not logged). */
  | { type: "admin.output"; peer: string; sessionId: string; processId: string }
  /** Terminate of one process, or (processId null) of a whole session; `found` is false for unknown ids. */
  | { type: "admin.terminate"; peer: string; sessionId: string; processId: string | null; found: boolean }
  | { type: "admin.refused"; peer: string; path: string; reason: string }
  /** A login to the web console with the admin token. */
  | { type: "admin.login"; peer: string };

/** Runs a change to `path` by `method` and reports it once `work` settled, with whether it succeeded. */
export type AuditedChange = <R>(
  ctx: { readonly connection: { readonly session: { readonly id: string } | null } },
  method: string,
  path: string,
  work: Promise<R>,
) => Promise<R>;

/** The event types. */
export type AuditEventType = AuditEvent["type"];

/** A consumer of audit events; it must not throw (a throw is logged and ignored). */
export type AuditListener = (event: AuditEvent) => void;

/** The event source of one server. */
export class AuditEvents {
  #listeners: AuditListener[] = [];

  /** Adds `listener`; returns the function that removes it. */
  subscribe(listener: AuditListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Whether anyone listens (to skip building an event nobody reads). */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  emit(event: AuditEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        log.warn("audit listener failed", { error: String(error) });
      }
    }
  }
}

/** The log line for each event type (at `info`; "open"/"close" in the connection lines' text). */
const MESSAGES: Record<AuditEventType, string> = {
  "connection.open": "connection open",
  "connection.close": "connection close",
  "process.start": "process start",
  "process.exit": "process exit",
  "fs.write": "fs write",
  "fs.remove": "fs remove",
  "http.request": "http request",
  "admin.list": "admin list",
  "admin.output": "admin output",
  "admin.terminate": "admin terminate",
  "admin.refused": "admin refused",
  "admin.login": "admin login",
};

/** The log consumer: one `info` line per event, its members as fields (`type` as `event`). */
export function logAuditEvent(event: AuditEvent): void {
  if (!logEnabled("info")) return;
  const { type, ...fields } = event;
  log.info(MESSAGES[type], { event: type, ...fields });
}
