/**
 * The admin surface (ours only): HTTP JSON under `/admin/` on the WebSocket listener, for the operator
 * rather than the agent. It lists sessions and their processes, reads a process's retained output (and
 * follows it by long-polling), and terminates a process or a whole session. Shapes: `protocol/admin.ts`.
 *
 * Access is its own: with `--admin-token-file`, `Authorization: Bearer <admin token>` (SHA-256 compared in
 * constant time, as `ws_auth.ts`); without one, only on a loopback listener without `--ws-auth` (local
 * access, as for the API itself); otherwise the surface is off. The agent's token is never accepted here,
 * and the admin token never opens the agent's API. Requests carrying a browser `Origin` are refused (a web
 * page must not drive it). Every action, and every refusal, is an audit event.
 *
 * Nothing here runs per chunk of output: a follower waits on the process's own wake-up set, which is only
 * touched when someone waits.
 *
 * @module
 */
import type { AdminOutput, AdminSession, AdminSessions, AdminTerminate } from "../protocol/admin.ts";
import type { ManagedProcess } from "../process/managed_process.ts";
import type { ExecServer } from "./exec_server.ts";
import type { Session } from "./session.ts";
import { bearerToken, sha256, timingSafeEqual } from "./ws_auth.ts";
import type { ConsoleLogins } from "./console_logins.ts";

/** Who may use the admin surface. */
export type AdminAccess =
  | { kind: "token"; sha256: Uint8Array }
  /** A loopback listener without agent auth and without an admin token: anyone local. */
  | { kind: "local" }
  | { kind: "off" };

/** Longest a follow poll waits. */
const MAX_WAIT_MS = 30_000;
/** Output bytes per page by default, and at most. */
const DEFAULT_PAGE_BYTES = 256 * 1024;
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** Serves one `/admin/...` request. */
export async function handleAdmin(
  server: ExecServer,
  access: AdminAccess,
  request: Request,
  peer: string,
  logins?: ConsoleLogins,
): Promise<Response> {
  const path = new URL(request.url).pathname;
  const refusal = await checkAdmin(server, access, request, logins);
  if (refusal !== null) {
    server.audit.emit({ type: "admin.refused", peer, path, reason: refusal.reason });
    return text(refusal.status, refusal.reason, refusal.status === 401);
  }
  let parts: string[];
  try {
    parts = path.split("/").slice(2).map(decodeURIComponent);
  } catch {
    return text(400, "malformed path");
  }
  const method = request.method;
  if (method === "GET" && parts.length === 1 && parts[0] === "sessions") {
    const sessions = describeSessions(server);
    server.audit.emit({ type: "admin.list", peer, sessions: sessions.length });
    return json({ sessions } satisfies AdminSessions);
  }
  if (method === "POST" && parts.length === 3 && parts[0] === "sessions" && parts[2] === "terminate") {
    const session = liveSession(server, parts[1]);
    server.audit.emit({
      type: "admin.terminate",
      peer,
      sessionId: parts[1],
      processId: null,
      found: session !== null,
    });
    if (session === null) return text(404, `unknown session ${parts[1]}`);
    const running = session.processes.list().filter(({ process }) => !process.exited).length;
    await server.terminateSession(session);
    return json({ sessionId: session.id, processId: null, running } satisfies AdminTerminate);
  }
  if (parts.length === 4 && parts[0] === "processes") {
    const [, sessionId, processId, action] = parts;
    const process = liveSession(server, sessionId)?.processes.get(processId) ?? null;
    if (method === "POST" && action === "terminate") {
      server.audit.emit({ type: "admin.terminate", peer, sessionId, processId, found: process !== null });
      if (process === null) return text(404, `unknown process ${processId} in session ${sessionId}`);
      const running = process.terminate() ? 1 : 0;
      return json({ sessionId, processId, running } satisfies AdminTerminate);
    }
    if (method === "GET" && action === "output") {
      if (process === null) return text(404, `unknown process ${processId} in session ${sessionId}`);
      const query = new URL(request.url).searchParams;
      const afterSeq = integer(query.get("afterSeq"), 0, Number.MAX_SAFE_INTEGER);
      const waitMs = integer(query.get("waitMs"), 0, MAX_WAIT_MS);
      const maxBytes = integer(query.get("maxBytes"), DEFAULT_PAGE_BYTES, MAX_PAGE_BYTES);
      if (afterSeq === null || waitMs === null || maxBytes === null) {
        return text(400, "afterSeq, waitMs and maxBytes must be non-negative integers");
      }
      if (afterSeq === 0) server.audit.emit({ type: "admin.output", peer, sessionId, processId });
      return json(await readOutput(process, afterSeq, maxBytes, waitMs, request.signal));
    }
  }
  return text(404, "not found");
}

/**
 * Whether `request` may use the admin surface: null when it may, else the refusal. A browser request is
 * allowed only from this server's own origin (the console), and then only by its login cookie, a token, or
 * local access on a loopback host name (a DNS-rebound name is not the console's origin).
 */
export async function checkAdmin(
  server: ExecServer,
  access: AdminAccess,
  request: Request,
  logins?: ConsoleLogins,
): Promise<{ status: number; reason: string } | null> {
  const origin = request.headers.get("origin");
  const url = new URL(request.url);
  const ownOrigin = origin !== null && origin === url.origin;
  if (origin !== null && !ownOrigin && !server.options.allowedOrigins.includes(origin)) {
    return { status: 403, reason: "browser origins are not allowed" };
  }
  if (access.kind === "off") {
    return {
      status: 403,
      reason: "the admin surface is off: start the server with --admin-token-file PATH " +
        "(it is open without a token only on a loopback listener without --ws-auth)",
    };
  }
  if (access.kind === "local") {
    if (origin !== null && !LOOPBACK_HOST_NAMES.has(url.hostname)) {
      return { status: 403, reason: "open the console through a loopback address (127.0.0.1 or localhost)" };
    }
    return null;
  }
  // The login cookie counts only on the console's own requests (an <img> on another port of this host is
  // same-site, so SameSite alone would let it through).
  const fetchSite = request.headers.get("sec-fetch-site");
  const fromConsole = fetchSite === null || fetchSite === "same-origin";
  if (request.headers.get("authorization") === null && fromConsole && logins?.has(request)) return null;
  const bearer = bearerToken(request);
  if ("failure" in bearer) return { status: 401, reason: bearer.failure.replace("websocket", "admin") };
  return await adminTokenMatches(access, bearer.token)
    ? null
    : { status: 401, reason: "invalid admin bearer token" };
}

/** Compares `token` with the admin token's digest in constant time. */
export async function adminTokenMatches(access: { sha256: Uint8Array }, token: string): Promise<boolean> {
  return timingSafeEqual(await sha256(token), access.sha256);
}

const LOOPBACK_HOST_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

function liveSession(server: ExecServer, id: string): Session | null {
  const session = server.session(id);
  return session === undefined || session.expired ? null : session;
}

/** Every live session as the listing shows it. */
export function describeSessions(server: ExecServer): AdminSession[] {
  return [...server.sessions].filter((s) => !s.expired).map(describeSession);
}

function describeSession(session: Session): AdminSession {
  const now = Date.now();
  return {
    sessionId: session.id,
    clientName: session.client?.name ?? null,
    peer: session.client?.peer ?? null,
    attached: session.owner !== null,
    createdAt: session.createdAt,
    ageMs: now - session.createdAt,
    processes: session.processes.list().map(({ process, facts }) => ({
      processId: process.id,
      pid: process.pid,
      argv: [...facts.argv],
      cwd: facts.cwd,
      tty: process.tty,
      sandboxed: facts.sandboxed,
      state: process.closed ? "closed" : process.exited ? "exited" : "running",
      exitCode: process.exitCode,
      startedAt: facts.startedAt,
      endedAt: facts.endedAt,
      outputBytes: process.outputBytes,
      size: facts.size === null ? null : { ...facts.size },
    })),
  };
}

async function readOutput(
  process: ManagedProcess,
  afterSeq: number,
  maxBytes: number,
  waitMs: number,
  signal: AbortSignal,
): Promise<AdminOutput> {
  let page;
  try {
    page = await process.peek(afterSeq, maxBytes, waitMs, signal);
  } catch {
    // The operator went away mid-poll: nobody reads this answer.
    page = await process.peek(afterSeq, maxBytes, 0, new AbortController().signal);
  }
  return {
    chunks: page.chunks.map(({ seq, stream, chunk }) => ({ seq, stream, chunk })),
    afterSeq: page.afterSeq,
    more: page.more,
    droppedBytes: page.droppedBytes,
    exited: process.exited,
    exitCode: process.exitCode,
    closed: page.closed,
  };
}

function integer(value: string | null, fallback: number, max: number): number | null {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) return null;
  return Math.min(Number(value), max);
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

export function text(status: number, message: string, challenge = false): Response {
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (challenge) headers["www-authenticate"] = 'Bearer realm="exec-server admin"';
  return new Response(`${message}\n`, { status, headers });
}
