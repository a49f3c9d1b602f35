/**
 * The operator commands' side of the admin surface (`ps`, `logs`, `kill`): where the server is (`--url`,
 * or a WebSocket environment from `--env`/`--config`), the admin token (`--admin-token-file`), the HTTP
 * calls, and finding a process across sessions.
 *
 * @module
 */
import {
  type AdminOutput,
  AdminOutputSchema,
  type AdminProcess,
  type AdminSession,
  AdminSessionsSchema,
  type AdminTerminate,
  AdminTerminateSchema,
} from "../protocol/admin.ts";
import * as z from "../util/zod.ts";
import { loadCliEnvironments } from "./cli_environments.ts";
import { selectEnvironment } from "./cli_target.ts";
import { UsageError } from "./usage_error.ts";

/** The options every admin command takes. */
export interface AdminTargetOptions {
  envId?: string;
  configPath?: string;
  url?: string;
  adminTokenFile?: string;
  caFile?: string;
}

/** The lines of usage the admin commands share. */
export const ADMIN_TARGET_USAGE =
  `  --env ID        the WebSocket environment to ask (default: the configured default)
  --config PATH   environments file (default: $CODEX_HOME/environments.toml)
  --url URL       the server's ws://HOST:PORT (or wss://) instead of a configured environment
  --admin-token-file F
                  send "Authorization: Bearer <first line of F>" (the server's --admin-token-file)
  --ca-file F     with wss://: trust this PEM CA bundle`;

/** The options of {@link ADMIN_TARGET_USAGE}, for `parseArgs`. */
export const ADMIN_TARGET_OPTIONS = {
  env: { type: "string" },
  config: { type: "string" },
  url: { type: "string" },
  "admin-token-file": { type: "string" },
  "ca-file": { type: "string" },
} as const;

/** The server could not be reached (exit 255, as for the other commands). */
export class AdminConnectionError extends Error {
  override name = "AdminConnectionError";
}

/** A connection to one server's admin surface. */
export class AdminClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #http: Deno.HttpClient | undefined;

  private constructor(base: string, headers: Record<string, string>, http: Deno.HttpClient | undefined) {
    this.#base = base;
    this.#headers = headers;
    this.#http = http;
  }

  /** Resolves the target named by `options`. */
  static async open(options: AdminTargetOptions, usage: string): Promise<AdminClient> {
    const url = options.url ?? await environmentUrl(options, usage);
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new UsageError(`--url expects ws://HOST:PORT or wss://HOST:PORT, got \`${url}\``, usage);
    }
    if (base.protocol !== "ws:" && base.protocol !== "wss:") {
      throw new UsageError(`--url expects ws://HOST:PORT or wss://HOST:PORT, got \`${url}\``, usage);
    }
    const origin = `${base.protocol === "wss:" ? "https" : "http"}://${base.host}`;
    const headers: Record<string, string> = {};
    if (options.adminTokenFile !== undefined) {
      const token = (await Deno.readTextFile(options.adminTokenFile)).split(/\r?\n/)[0].trim();
      if (token === "") throw new Error(`admin token file ${options.adminTokenFile} is empty`);
      headers.authorization = `Bearer ${token}`;
    }
    const http = options.caFile === undefined
      ? undefined
      : Deno.createHttpClient({ caCerts: [await Deno.readTextFile(options.caFile)] });
    return new AdminClient(origin, headers, http);
  }

  close(): void {
    this.#http?.close();
  }

  /** `GET /admin/sessions`. */
  async sessions(): Promise<AdminSession[]> {
    return (await this.#call("GET", "/admin/sessions", AdminSessionsSchema)).sessions;
  }

  /** A page of a process's output after `afterSeq`; null when the process is gone (404). */
  output(
    sessionId: string,
    processId: string,
    afterSeq: number,
    waitMs: number,
  ): Promise<AdminOutput | null> {
    const query = `afterSeq=${afterSeq}&waitMs=${waitMs}`;
    return this.#call("GET", `${processPath(sessionId, processId)}/output?${query}`, AdminOutputSchema, true);
  }

  /** Terminates one process. */
  async terminateProcess(sessionId: string, processId: string): Promise<AdminTerminate> {
    return (await this.#call(
      "POST",
      `${processPath(sessionId, processId)}/terminate`,
      AdminTerminateSchema,
    ))!;
  }

  /** Terminates a whole session. */
  async terminateSession(sessionId: string): Promise<AdminTerminate> {
    const path = `/admin/sessions/${encodeURIComponent(sessionId)}/terminate`;
    return (await this.#call("POST", path, AdminTerminateSchema))!;
  }

  async #call<T extends z.ZodMiniType>(method: string, path: string, schema: T): Promise<z.infer<T>>;
  async #call<T extends z.ZodMiniType>(
    method: string,
    path: string,
    schema: T,
    missingIsNull: true,
  ): Promise<z.infer<T> | null>;
  async #call<T extends z.ZodMiniType>(
    method: string,
    path: string,
    schema: T,
    missingIsNull = false,
  ): Promise<z.infer<T> | null> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, { method, headers: this.#headers, client: this.#http });
    } catch (error) {
      throw new AdminConnectionError(`cannot reach ${this.#base}: ${(error as Error).message}`);
    }
    if (response.status === 404 && missingIsNull) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      const reason = (await response.text()).trim();
      const hint = response.status === 401 ? " (pass the server's admin token with --admin-token-file)" : "";
      throw new Error(`${reason || `HTTP ${response.status}`}${hint}`);
    }
    const parsed = z.safeParse(schema, await response.json());
    if (!parsed.success) throw new Error(`unexpected answer from ${this.#base}${path}`);
    return parsed.data;
  }
}

function processPath(sessionId: string, processId: string): string {
  return `/admin/processes/${encodeURIComponent(sessionId)}/${encodeURIComponent(processId)}`;
}

async function environmentUrl(options: AdminTargetOptions, usage: string): Promise<string> {
  const manager = await loadCliEnvironments(options.configPath);
  try {
    const environment = selectEnvironment(manager, options.envId, usage);
    const config = environment.config;
    if (config === null) {
      throw new UsageError(
        "the local environment runs inside this command and has nothing to show; pass --env ID or --url URL",
        usage,
      );
    }
    if (config.kind !== "websocket") {
      throw new UsageError(
        `environment \`${environment.id}\` is not a WebSocket server; pass --url URL`,
        usage,
      );
    }
    return config.url;
  } finally {
    await manager.close();
  }
}

/** A session named by its id or a unique prefix of it. */
export function findSession(sessions: AdminSession[], id: string): AdminSession {
  const exact = sessions.find((s) => s.sessionId === id);
  if (exact) return exact;
  const matches = sessions.filter((s) => s.sessionId.startsWith(id));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new Error(`no session ${id}`);
  throw new Error(`session prefix ${id} matches ${matches.length} sessions; give more of it`);
}

/** A process by id across sessions (or in `sessionId`'s); ambiguous ids need `--session`. */
export function findProcess(
  sessions: AdminSession[],
  processId: string,
  sessionId: string | undefined,
): { session: AdminSession; process: AdminProcess } {
  const candidates = sessionId === undefined ? sessions : [findSession(sessions, sessionId)];
  const found = candidates.flatMap((session) =>
    session.processes.filter((p) => p.processId === processId).map((process) => ({ session, process }))
  );
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    throw new Error(`no process ${processId}${sessionId === undefined ? "" : ` in session ${sessionId}`}`);
  }
  const ids = found.map((f) => f.session.sessionId).join(", ");
  throw new Error(`process ${processId} exists in ${found.length} sessions (${ids}); pass --session ID`);
}
