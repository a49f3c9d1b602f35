/**
 * The runtime-neutral server core: sessions, connections and the method table. Transport adapters
 * (stdio, WebSocket) hand it a {@link MessageTransport}; it never touches sockets or pipes itself.
 *
 * @module
 */
import { parseAbsolutePath } from "../protocol/paths.ts";
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { EnvironmentInfo, EnvironmentStatus, Initialize } from "../protocol/methods.ts";
import type { InitializeParams, InitializeResult } from "../protocol/initialize.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import { log } from "../util/log.ts";
import { type ConnectionHost, ServerConnection } from "./connection.ts";
import { environmentInfo } from "./environment_info.ts";
import { MethodTable } from "./method_table.ts";
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from "./options.ts";
import { registerProcessMethods } from "./process_methods.ts";
import { registerHttpMethods } from "./http_methods.ts";
import { registerFsMethods } from "./fs_methods.ts";
import { registerDiscoveryMethods } from "./discovery_methods.ts";
import { Session } from "./session.ts";
import { AuditEvents, logAuditEvent } from "./audit.ts";
import { ServerMetrics } from "./metrics.ts";
import { preloadNodeTty } from "../process/node_tty.ts";
import { hasLibcSpawn } from "../process/libc.ts";

/** Resolves `process/start.cwd`: a native path or `file:` URI; a relative path resolves against our cwd, as in 0.140.0. */
export function resolveProcessCwd(cwd: string): string {
  if (cwd !== "" && !cwd.startsWith("/") && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(cwd)) {
    return `${Deno.cwd()}/${cwd}`;
  }
  return parseAbsolutePath(cwd);
}

/** How long a resume of an attached session waits for the old connection to finish closing. */
const RESUME_CLOSE_GRACE_MS = 500;

/** An exec-server: accepts connections, owns sessions, and shuts everything down in one place. */
export class ExecServer implements ConnectionHost {
  readonly options: ServerOptions;
  readonly methods = new MethodTable();
  /** What clients do here, for the log (subscribed by default) and any other consumer. */
  readonly audit = new AuditEvents();
  /** The counters behind `/metrics`. */
  readonly metrics = new ServerMetrics(this.audit);
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<ServerConnection>();
  #shutdown: Promise<void> | null = null;

  constructor(options: Partial<ServerOptions> = {}) {
    this.options = { ...DEFAULT_SERVER_OPTIONS, ...options };
    this.audit.subscribe(logAuditEvent);
    this.methods.register(Initialize, (params, { connection }) => this.#initialize(connection, params));
    registerProcessMethods(this.methods, {
      resolveCwd: resolveProcessCwd,
      maxSpawnRate: this.options.maxSpawnRate,
      audit: this.audit,
    });
    this.methods.register(EnvironmentInfo, () => environmentInfo());
    this.methods.register(EnvironmentStatus, () => ({ status: "ready" }));
    registerFsMethods(this.methods, this.audit);
    registerDiscoveryMethods(this.methods);
    registerHttpMethods(this.methods, this.options, this.audit);
    this.firstClient.then(() => {
      preloadNodeTty();
      hasLibcSpawn(); // opens libc (a few ms) ahead of the first spawn
    });
  }

  /** Live sessions (attached or detached). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Live sessions (the admin surface). */
  get sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** Ends a session now (the admin surface): closes the connection attached to it, terminates its processes. */
  async terminateSession(session: Session): Promise<void> {
    for (const connection of this.#connections) {
      if (connection.session === session) connection.close("session terminated by the operator");
    }
    await session.expire();
  }

  /** A session by id (for tests and diagnostics). */
  session(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Requests of one connection that run at once (`--concurrent-requests`); null: no limit. */
  get concurrentRequests(): number | null {
    return this.options.concurrentRequests;
  }

  /** Serves one new connection over `transport`; `peer` is the client's address for the log. */
  accept(transport: MessageTransport, peer?: string): ServerConnection {
    const connection = new ServerConnection(transport, this, peer);
    if (this.#shutdown) {
      transport.close("server is shutting down");
      return connection;
    }
    this.#connections.add(connection);
    connection.start();
    return connection;
  }

  /**
   * `initialize`. A new session is answered synchronously, so the reply keeps its place among the replies
   * to requests sent right after it; only a resume may wait (for the old connection to close).
   */
  #initialize(
    connection: ServerConnection,
    params: InitializeParams,
  ): InitializeResult | Promise<InitializeResult> {
    if (connection.state !== "new" || this.#initializing.has(connection)) {
      throw RpcError.invalidRequest("initialize may only be sent once per connection");
    }
    if (params.resumeSessionId == null) return this.#adopt(connection, params, this.#createSession());
    const id = params.resumeSessionId;
    this.#initializing.add(connection);
    return this.#resume(connection, id).then((session) => {
      // The wait for an old connection may outlive this one.
      if ((connection.state as string) === "closed") {
        throw RpcError.invalidRequest("connection closed during initialize");
      }
      return this.#adopt(connection, params, session);
    }).finally(() => this.#initializing.delete(connection));
  }

  #adopt(connection: ServerConnection, params: InitializeParams, session: Session): InitializeResult {
    session.attach(connection);
    session.client = { name: params.clientName, peer: connection.peer };
    connection.markInitializing(session, params.clientName, params.resumeSessionId != null);
    if (!this.#firstClient.settled) {
      this.#firstClient.settled = true;
      // Once this reply is on its way: not on the cold start path, usually done before the first start.
      setTimeout(() => this.#firstClient.resolve(), 0);
    }
    return { sessionId: session.id, environmentInfo: environmentInfo() };
  }

  /** Connections whose `initialize` is waiting (for a resumed session's old connection to go). */
  readonly #initializing = new WeakSet<ServerConnection>();

  readonly #firstClient = Object.assign(Promise.withResolvers<void>(), { settled: false });

  /**
   * Resolves just after the first `initialize` was answered: the moment for warm-up work that would
   * otherwise slow down the cold start (loading the fd reader's module and libc, ~20 ms) or the first
   * `process/start`.
   */
  get firstClient(): Promise<void> {
    return this.#firstClient.promise;
  }

  #createSession(): Session {
    if (this.#sessions.size >= this.options.maxSessions) {
      throw RpcError.invalidRequest(
        `too many sessions (limit ${this.options.maxSessions}; raise it with --max-sessions)`,
      );
    }
    const session = new Session(
      crypto.randomUUID(),
      this.options,
      (s) => this.#sessions.delete(s.id),
      this.metrics.output,
    );
    this.#sessions.set(session.id, session);
    return session;
  }

  /**
   * Finds a session to resume. One attached to another live connection is refused (-32010, as Codex 0.171
   * does), unless `--resume-attached takeover`: a second client must not steal a session in use. A link
   * that just dropped is often still closing when its client resumes, so the refusal waits up to
   * {@link RESUME_CLOSE_GRACE_MS} for the old connection to close; a half-open one is closed by the
   * WebSocket ping deadline (`--ws-ping-timeout`), after which a resume succeeds.
   */
  async #resume(connection: ServerConnection, id: string): Promise<Session> {
    const lookup = () => {
      const session = this.#sessions.get(id);
      if (!session || session.expired) throw RpcError.invalidRequest(`unknown session id ${id}`);
      return session;
    };
    let session = lookup();
    log.info(`session ${id} resumed by connection ${connection.id}`);
    const holder = () => {
      const owner = session.owner;
      return owner instanceof ServerConnection && owner !== connection && owner.state !== "closed"
        ? owner
        : null;
    };
    const previous = holder();
    if (previous === null) return session;
    if (this.options.resumeAttached === "takeover") {
      log.info(`session ${id} taken over by connection ${connection.id} from connection ${previous.id}`);
      previous.evict(
        new RpcError(ErrorCode.InvalidRequest, "session has been resumed by another connection"),
      );
      return session;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      previous.closed,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, RESUME_CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    session = lookup();
    if (holder() !== null) {
      throw new RpcError(
        ErrorCode.SessionAlreadyAttached,
        `session ${id} is already attached to another connection`,
      );
    }
    return session;
  }

  onConnectionClosed(connection: ServerConnection): void {
    this.#connections.delete(connection);
    connection.session?.detach(connection);
  }

  /**
   * Graceful shutdown: stop accepting, close every connection, terminate every session's process trees
   * (SIGTERM, then SIGKILL after the grace), and resolve when all are gone.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      for (const connection of this.#connections) connection.close("server shutting down");
      await Promise.all([...this.#sessions.values()].map((session) => session.expire()));
    })();
    return this.#shutdown;
  }
}
