/**
 * A session owns a process table and outlives connections: a connection borrows it, a disconnect
 * detaches it (processes keep running, output keeps being retained), and it expires after a TTL of
 * being detached, which terminates its process trees.
 *
 * @module
 */
import { ProcessTable } from "../process/process_table.ts";
import type { NotificationSink } from "../rpc/handler_context.ts";
import type { ServerOptions } from "./options.ts";

/** The part of a connection a session needs. */
export interface SessionOwner {
  readonly notifications: NotificationSink;
}

/** One session. */
export class Session {
  readonly id: string;
  readonly processes: ProcessTable;
  /** Unix milliseconds. */
  readonly createdAt = Date.now();
  /** The last client to initialize or resume it (the admin listing; set by the server). */
  client: { name: string; peer: string } | null = null;
  #owner: SessionOwner | null = null;
  #expiryTimer: ReturnType<typeof setTimeout> | null = null;
  #expired = false;
  readonly #ttlMs: number;
  readonly #onExpire: (session: Session) => void;

  constructor(
    id: string,
    options: ServerOptions,
    onExpire: (session: Session) => void,
    outputCounter?: { bytes: number },
  ) {
    this.id = id;
    this.#ttlMs = options.sessionTtlMs;
    this.#onExpire = onExpire;
    const sink: NotificationSink = {
      notify: (method, params, onWritten, onDelivered) =>
        this.#owner?.notifications.notify(method, params, onWritten, onDelivered) ?? false,
      notifyEncoded: (message, onWritten, onDelivered) =>
        this.#owner?.notifications.notifyEncoded(message, onWritten, onDelivered) ?? false,
      whenWritable: () => this.#owner?.notifications.whenWritable() ?? Promise.resolve(),
    };
    this.processes = new ProcessTable({
      retainBytes: options.retainBytes,
      retentionMs: options.retentionMs,
      terminateGraceMs: options.terminateGraceMs,
      exitDrainMs: options.exitDrainMs,
      maxProcesses: options.maxProcessesPerSession,
      outputCounter,
    }, sink);
  }

  /** The connection this session is attached to, if any. */
  get owner(): SessionOwner | null {
    return this.#owner;
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** Attaches a connection (cancelling a pending expiry). */
  attach(owner: SessionOwner): void {
    // A takeover: what the old connection had in flight will not be confirmed.
    if (this.#owner !== null && this.#owner !== owner) this.processes.connectionLost();
    this.#owner = owner;
    if (this.#expiryTimer !== null) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = null;
  }

  /** Detaches `owner` if it is the current one, and starts the TTL. */
  detach(owner: SessionOwner): void {
    if (this.#owner !== owner) return;
    this.#owner = null;
    this.processes.connectionLost();
    if (this.#expired) return;
    this.#expiryTimer = setTimeout(() => this.expire(), this.#ttlMs);
  }

  /** Ends the session now: terminates every process tree. */
  async expire(): Promise<void> {
    if (this.#expired) return;
    this.#expired = true;
    if (this.#expiryTimer !== null) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = null;
    this.#onExpire(this);
    await this.processes.shutdownAll();
  }
}
