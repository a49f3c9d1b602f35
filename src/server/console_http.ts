/**
 * The web console at `/console`, served by the server itself from assets compiled into the program (no
 * external request): a login with the admin token into an `HttpOnly; SameSite=Strict` cookie, a strict CSP,
 * and `/console/events`, a WebSocket that checks `Origin` and pushes the session/process listing and the
 * recent audit trail as a snapshot, then as coalesced deltas (`console_feed.ts`). Output and terminate go
 * through the same `/admin/...` endpoints as the CLI. Nothing runs while no console is open.
 *
 * @module
 */
import type { AuditEvent, AuditEvents } from "./audit.ts";
import { type AdminAccess, adminTokenMatches, checkAdmin, describeSessions, text } from "./admin_http.ts";
import {
  CONSOLE_APP_JS,
  CONSOLE_CSS,
  CONSOLE_TERMINAL_JS,
  consoleHtml,
  loginHtml,
} from "./console_assets.ts";
import { CONSOLE_COOKIE, type ConsoleLogins, LOGIN_TTL_MS } from "./console_logins.ts";
import { ConsoleFeed, FEED_INTERVAL_MS } from "./console_feed.ts";
import type { ExecServer } from "./exec_server.ts";

/**
 * The console's Content-Security-Policy: its own scripts, styles and connections only; no inline script or
 * style and no eval. xterm.js (the terminal view) writes `<style>` elements and, for 24-bit colours, `style`
 * attributes; rather than allow `'unsafe-inline'` styles, `console_terminal.js` applies those elements' text
 * as constructed stylesheets and maps 24-bit colours to the 256-colour palette.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Audit events a console keeps and shows. */
const AUDIT_TRAIL = 100;

/** The last {@link AUDIT_TRAIL} audit events of a server (kept only where the admin surface is on). */
export class AuditTrail {
  readonly events: AuditEvent[] = [];
  /** Counts events, so a console knows when something happened. */
  version = 0;

  constructor(audit: AuditEvents) {
    audit.subscribe((event) => {
      this.events.push(event);
      if (this.events.length > AUDIT_TRAIL) this.events.shift();
      this.version++;
    });
  }
}

/** What the console keeps per listener. */
export interface ConsoleState {
  logins: ConsoleLogins;
  trail: AuditTrail | null;
}

/** Serves one `/console...` request. */
export async function handleConsole(
  server: ExecServer,
  access: AdminAccess,
  state: ConsoleState,
  request: Request,
  peer: string,
): Promise<Response> {
  const { logins, trail } = state;
  const url = new URL(request.url);
  const path = url.pathname;
  if (request.method === "GET" && path === "/console/app.js") return asset(CONSOLE_APP_JS, "text/javascript");
  if (request.method === "GET" && path === "/console/app.css") return asset(CONSOLE_CSS, "text/css");
  if (request.method === "GET" && path === "/console/terminal.js") {
    return asset(CONSOLE_TERMINAL_JS, "text/javascript");
  }
  if (request.method === "GET" && (path === "/console/xterm.js" || path === "/console/xterm.css")) {
    const { XTERM_CSS, XTERM_JS } = await import("./console_vendor.ts");
    return path.endsWith(".js") ? asset(XTERM_JS, "text/javascript") : asset(XTERM_CSS, "text/css");
  }
  if (request.method === "POST" && path === "/console/login") {
    return await login(server, access, logins, request, peer);
  }
  if (request.method === "POST" && path === "/console/logout") {
    logins.remove(request);
    return new Response(null, {
      status: 303,
      headers: { location: "/console", "set-cookie": cookie("", 0, url), ...SECURITY_HEADERS },
    });
  }
  if (path === "/console/events") return await events(server, access, logins, trail, request, peer);
  if (request.method === "GET" && (path === "/console" || path === "/console/")) {
    if (access.kind === "off") {
      return text(403, "the admin surface is off: start the server with --admin-token-file PATH");
    }
    // The page holds no data (that comes from same-origin fetches), so a login also counts on a navigation
    // typed into the address bar (Sec-Fetch-Site: none).
    const allowed = (access.kind === "token" && logins.has(request)) ||
      await checkAdmin(server, access, request, logins) === null;
    return page(allowed ? consoleHtml(access.kind === "token") : loginHtml(""), 200);
  }
  return text(404, "not found");
}

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  // Not no-referrer: under it a form POST carries `Origin: null`, and the origin check needs the real one.
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, ...SECURITY_HEADERS } });
}

function page(html: string, status: number, extra: Record<string, string> = {}): Response {
  return new Response(html, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS, ...extra },
  });
}

function cookie(value: string, maxAgeSec: number, url: URL): string {
  const secure = url.protocol === "https:" ? "; Secure" : "";
  return `${CONSOLE_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSec}${secure}`;
}

async function login(
  server: ExecServer,
  access: AdminAccess,
  logins: ConsoleLogins,
  request: Request,
  peer: string,
): Promise<Response> {
  const url = new URL(request.url);
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== url.origin) {
    server.audit.emit({
      type: "admin.refused",
      peer,
      path: url.pathname,
      reason: "browser origins are not allowed",
    });
    return text(403, "browser origins are not allowed");
  }
  if (access.kind !== "token") return new Response(null, { status: 303, headers: { location: "/console" } });
  let token = "";
  try {
    const form = await request.formData();
    token = String(form.get("token") ?? "").trim();
  } catch {
    // Not a form: an empty token, refused below.
  }
  if (token === "" || !await adminTokenMatches(access, token)) {
    server.audit.emit({ type: "admin.refused", peer, path: url.pathname, reason: "invalid admin token" });
    return page(loginHtml("That is not the admin token."), 401);
  }
  server.audit.emit({ type: "admin.login", peer });
  return new Response(null, {
    status: 303,
    headers: {
      location: "/console",
      "set-cookie": cookie(logins.create(), LOGIN_TTL_MS / 1000, url),
      ...SECURITY_HEADERS,
    },
  });
}

/** The console's WebSocket: its own origin only, then pushes of the listing and the audit trail. */
async function events(
  server: ExecServer,
  access: AdminAccess,
  logins: ConsoleLogins,
  trail: AuditTrail | null,
  request: Request,
  peer: string,
): Promise<Response> {
  const path = new URL(request.url).pathname;
  const origin = request.headers.get("origin");
  let refusal = origin === new URL(request.url).origin
    ? await checkAdmin(server, access, request, logins)
    : { status: 403, reason: "the console's WebSocket accepts only the console's own origin" };
  if (refusal === null && request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    refusal = { status: 400, reason: "expected a WebSocket upgrade" };
  }
  if (refusal !== null) {
    server.audit.emit({ type: "admin.refused", peer, path, reason: refusal.reason });
    return text(refusal.status, refusal.reason);
  }
  const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 30 });
  const feed = new ConsoleFeed(socket, () => describeSessions(server), trail);
  let timer: ReturnType<typeof setInterval> | undefined;
  socket.onopen = () => {
    server.audit.emit({ type: "admin.list", peer, sessions: server.sessionCount });
    feed.tick();
    timer = setInterval(() => feed.tick(), FEED_INTERVAL_MS);
  };
  socket.onclose = () => clearInterval(timer);
  socket.onmessage = () => {}; // the console only listens
  return response;
}
