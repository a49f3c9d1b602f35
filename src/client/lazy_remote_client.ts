/**
 * Codex's lazy client: nothing connects until first use; concurrent callers share one connect; a
 * WebSocket client whose transport closed is replaced by exactly ONE fresh client on the next use; a
 * stdio client is one-shot (the dead client is returned and fails fast); failures are never cached.
 *
 * @module
 */
import { ExecServerClientError } from "./client_error.ts";
import type { ExecServerClient } from "./exec_server_client.ts";

/** Creates a connected client (e.g. `() => ExecServerClient.connect(params, options)`). */
export type ClientFactory = () => Promise<ExecServerClient>;

/** A client created on first use and re-created after a WebSocket disconnect. */
export class LazyRemoteClient {
  readonly #connect: ClientFactory;
  #client: ExecServerClient | null = null;
  #connecting: Promise<ExecServerClient> | null = null;
  #closed = false;
  #connectCount = 0;
  #lastError: Error | null = null;

  constructor(connect: ClientFactory) {
    this.#connect = connect;
  }

  /** The cached client, if any (connected or not); never connects. */
  get current(): ExecServerClient | null {
    return this.#client;
  }

  /** The error of the last connect attempt when it failed (cleared by a successful one). */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** True while a connect attempt is under way. */
  get isConnecting(): boolean {
    return this.#connecting !== null;
  }

  /** How many clients this has created (for diagnostics and tests). */
  get connectCount(): number {
    return this.#connectCount;
  }

  /**
   * The usable client: the cached one, or a new one when none exists or a reconnectable client has
   * disconnected. A waiter whose shared attempt failed tries once more itself, as Codex's queued waiters do.
   *
   * @throws {ExecServerClientError} the connect error (not cached: the next call retries).
   */
  async get(): Promise<ExecServerClient> {
    const ready = this.#usable();
    if (ready) return ready;
    if (this.#connecting) {
      try {
        return await this.#connecting;
      } catch {
        // The shared attempt failed; fall through to one attempt of our own.
      }
      const now = this.#usable();
      if (now) return now;
    }
    this.#connecting ??= this.#create().finally(() => {
      this.#connecting = null;
    });
    return await this.#connecting;
  }

  /** Closes the cached client; later `get()` calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    await client?.close();
  }

  #usable(): ExecServerClient | null {
    const client = this.#client;
    if (!client) return null;
    // Stdio is one-shot: its dead client is handed out and fails fast.
    if (!client.isDisconnected || !client.reconnectable) return client;
    return null;
  }

  async #create(): Promise<ExecServerClient> {
    if (this.#closed) throw ExecServerClientError.closed();
    this.#connectCount++;
    let client: ExecServerClient;
    try {
      client = await this.#connect();
    } catch (error) {
      this.#lastError = error as Error;
      throw error;
    }
    this.#lastError = null;
    if (this.#closed) {
      await client.close();
      throw ExecServerClientError.closed();
    }
    this.#client = client;
    return client;
  }
}
