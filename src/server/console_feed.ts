/**
 * What one console's WebSocket is sent: a snapshot of the sessions, their processes and the recent audit
 * trail when it opens, then at most every {@link FEED_INTERVAL_MS} a delta holding only the fields that
 * changed since the last message (with hundreds of processes printing, that is mostly `outputBytes`), the
 * rows that went away and the audit events that are new. Ages are not sent: the console counts them from
 * `createdAt`/`startedAt` and the server's `now` in each message.
 *
 * A console never slows the server: a send only queues (it never waits), and while the socket holds more
 * than {@link HIGH_WATER_BYTES} unsent, rounds are skipped. Nothing is lost by a skip: the next delta is
 * taken against what was last sent, so it carries every change in between (changes coalesce). A console
 * that stays above the mark for {@link STALL_MS} is closed; it reconnects and starts again from a snapshot.
 *
 * @module
 */
import type { AdminSession } from "../protocol/admin.ts";
import type { AuditEvent } from "./audit.ts";

/** Shortest time between two messages to one console. */
export const FEED_INTERVAL_MS = 100;
/** Unsent bytes above which a round is skipped. */
export const HIGH_WATER_BYTES = 256 * 1024;
/** A console that has not drained below the mark for this long is closed. */
export const STALL_MS = 15_000;

/** The part of a WebSocket the feed uses (a stand-in in unit tests). */
export interface FeedSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Where the audit events come from: the last few, and how many there ever were. */
export interface FeedTrail {
  readonly events: readonly AuditEvent[];
  readonly version: number;
}

type Row = Record<string, unknown>;

/** One message to the console. */
export interface FeedMessage {
  type: "snapshot" | "delta";
  /** The server's clock (Unix ms), for ages. */
  now: number;
  /** Sessions that are new or changed: `sessionId` and the fields that changed (all of them when new). */
  sessions: Row[];
  /** Processes likewise, with `sessionId` and `processId`. */
  processes: Row[];
  removedSessions: string[];
  /** `[sessionId, processId]` pairs. */
  removedProcesses: [string, string][];
  /** Audit events since the last message (in a snapshot: the whole trail). */
  audit: AuditEvent[];
}

/** The feed of one console socket. */
export class ConsoleFeed {
  readonly #socket: FeedSocket;
  readonly #list: () => AdminSession[];
  readonly #trail: FeedTrail | null;
  readonly #now: () => number;
  /** What the console has been sent, by row key. */
  #sent = new Map<string, Row>();
  #auditSent = 0;
  #snapshotSent = false;
  #stalledSince: number | null = null;

  constructor(
    socket: FeedSocket,
    list: () => AdminSession[],
    trail: FeedTrail | null,
    now: () => number = Date.now,
  ) {
    this.#socket = socket;
    this.#list = list;
    this.#trail = trail;
    this.#now = now;
  }

  /** One round: sends what changed, skips while the socket is backed up, closes it when it stays so. */
  tick(): void {
    if (this.#socket.readyState !== 1) return;
    const now = this.#now();
    if (this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
      this.#stalledSince ??= now;
      if (now - this.#stalledSince >= STALL_MS) {
        this.#socket.close(1013, "the console does not keep up; reconnect");
      }
      return;
    }
    this.#stalledSince = null;
    const message = this.#next(now);
    if (message !== null) this.#socket.send(JSON.stringify(message));
  }

  #next(now: number): FeedMessage | null {
    const snapshot = !this.#snapshotSent;
    const message: FeedMessage = {
      type: snapshot ? "snapshot" : "delta",
      now,
      sessions: [],
      processes: [],
      removedSessions: [],
      removedProcesses: [],
      audit: this.#newAudit(),
    };
    const seen = new Set<string>();
    for (const session of this.#list()) {
      const { processes, ageMs: _age, ...fields } = session;
      const key = `s ${session.sessionId}`;
      seen.add(key);
      this.#diff(key, fields, { sessionId: session.sessionId }, message.sessions);
      for (const process of processes) {
        const processKey = `p ${session.sessionId} ${process.processId}`;
        seen.add(processKey);
        const ids = { sessionId: session.sessionId, processId: process.processId };
        this.#diff(processKey, { ...process, ...ids }, ids, message.processes);
      }
    }
    for (const [key, row] of this.#sent) {
      if (seen.has(key)) continue;
      this.#sent.delete(key);
      if (key.startsWith("s ")) message.removedSessions.push(row.sessionId as string);
      else message.removedProcesses.push([row.sessionId as string, row.processId as string]);
    }
    this.#snapshotSent = true;
    const empty = message.sessions.length + message.processes.length + message.removedSessions.length +
        message.removedProcesses.length + message.audit.length === 0;
    return empty && !snapshot ? null : message;
  }

  /** Adds to `out` the fields of row `key` that differ from what was sent (with `ids` to name it). */
  #diff(key: string, fields: Row, ids: Row, out: Row[]): void {
    const before = this.#sent.get(key);
    const encoded: Row = {};
    let changed: Row | null = null;
    for (const [name, value] of Object.entries(fields)) {
      const plain = typeof value === "object" && value !== null ? JSON.stringify(value) : value;
      encoded[name] = plain;
      if (before === undefined || before[name] !== plain) (changed ??= { ...ids })[name] = value;
    }
    this.#sent.set(key, encoded);
    if (changed !== null) out.push(changed);
  }

  #newAudit(): AuditEvent[] {
    if (this.#trail === null) return [];
    const fresh = Math.min(this.#trail.version - this.#auditSent, this.#trail.events.length);
    this.#auditSent = this.#trail.version;
    return fresh > 0 ? this.#trail.events.slice(-fresh) : [];
  }
}
