/**
 * The WebSocket adapter: `Deno.serve` + `Deno.upgradeWebSocket` on `/`, `GET /readyz` for health (always
 * open), `GET /metrics` (Prometheus text, behind the same bearer auth as the upgrade), the operator's
 * `/admin/...` (its own credential, see `admin_http.ts`) and its web console `/console` (`console_http.ts`),
 * 404 elsewhere, browser `Origin`s refused unless allowed (a web page must never reach this server), and
 * connections held by a process this server sandboxed refused (see `sandbox_peer_refusal.ts`).
 *
 * @module
 */
import { WebSocketTransport } from "../rpc/websocket_transport.ts";
import { HandshakeWatchdog } from "./handshake_watchdog.ts";
import { log } from "../util/log.ts";
import type { ExecServer } from "./exec_server.ts";
import { formatListenUrl } from "./listen_url.ts";
import { refuseSandboxedPeers } from "./sandbox_peer_refusal.ts";
import { checkBearer, type WebSocketAuth } from "./ws_auth.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";
import { type AdminAccess, handleAdmin } from "./admin_http.ts";
import { AuditTrail, type ConsoleState, handleConsole } from "./console_http.ts";
import { ConsoleLogins } from "./console_logins.ts";

/** Where and how to listen. */
export interface WebSocketListenerOptions {
  hostname: string;
  port: number;
  /** PEM certificate and key: serve `wss://`. */
  tls?: { cert: string; key: string };
  /** Authentication checked before the upgrade (default: none). */
  auth?: WebSocketAuth;
  /** Who may use `/admin/...` (default: off). */
  admin?: AdminAccess;
}

/** A running listener. */
export interface WebSocketListener {
  /** The bound URL, e.g. `ws://127.0.0.1:42027`. */
  readonly url: string;
  /** Stops accepting connections. */
  close(): Promise<void>;
  /** Resolves when the listener has stopped. */
  readonly finished: Promise<void>;
}

/** Starts serving `server` over WebSocket. */
export async function listenWebSocket(
  server: ExecServer,
  options: WebSocketListenerOptions,
): Promise<WebSocketListener> {
  let boundPort = options.port;
  const consoleState: ConsoleState = {
    logins: new ConsoleLogins(),
    trail: (options.admin ?? { kind: "off" }).kind === "off" ? null : new AuditTrail(server.audit),
  };
  const watchdog = new HandshakeWatchdog({
    timeoutMs: server.options.handshakeTimeoutMs,
    maxPending: server.options.maxPendingHandshakes,
  }, () => boundPort);
  // Before anything else, token included: a process this server sandboxed never gets in.
  const handler = refuseSandboxedPeers(
    (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> =>
      handleRequest(server, options, request, info, watchdog, consoleState),
    () => boundPort,
  );
  let current = await serveOn(options, options.port, handler);
  boundPort = current.addr.port;
  watchdog.start();
  let closing = false;
  let wakeRetry: (() => void) | null = null;
  // Deno.serve's accept loop ends with an error when accept fails (EMFILE when a client holds hundreds of
  // idle sockets). Nothing may kill the server for that: what is open keeps being served, and the
  // listener comes back on the same port once descriptors are free again.
  const finished = (async () => {
    for (;;) {
      try {
        await current.server.finished;
        return;
      } catch (error) {
        if (closing) return;
        log.warn(`accepting connections failed (${(error as Error).message}); listening again in 1 s`);
      }
      for (;;) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RELISTEN_DELAY_MS);
          wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wakeRetry = null;
        if (closing) return;
        try {
          current = await serveOn(options, boundPort, handler);
          if (closing) {
            // close() ran while this bind was under way and shut down the previous server.
            await current.server.shutdown().catch(() => {});
            return;
          }
          log.info(`listening again on port ${boundPort}`);
          break;
        } catch (error) {
          log.warn(`listening again failed (${(error as Error).message}); retrying in 1 s`);
        }
      }
    }
  })();
  return {
    url: formatListenUrl(options.tls !== undefined, current.addr.hostname, boundPort),
    close: async () => {
      closing = true;
      watchdog.stop();
      (wakeRetry as (() => void) | null)?.();
      await current.server.shutdown().catch(() => {});
      await finished;
    },
    finished,
  };
}

/** How long the listener waits before binding again after its accept loop failed. */
const RELISTEN_DELAY_MS = 1_000;

async function serveOn(
  options: WebSocketListenerOptions,
  port: number,
  handler: (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>,
): Promise<{ server: Deno.HttpServer<Deno.NetAddr>; addr: Deno.NetAddr }> {
  const { promise: bound, resolve: onBound } = Promise.withResolvers<Deno.NetAddr>();
  const serveOptions = { hostname: options.hostname, port, onListen: (addr: Deno.NetAddr) => onBound(addr) };
  const server = options.tls
    ? Deno.serve({ ...serveOptions, cert: options.tls.cert, key: options.tls.key }, handler)
    : Deno.serve(serveOptions, handler);
  // A failure before the bind completes rejects `finished` instead of calling onListen.
  const addr = await Promise.race([
    bound,
    server.finished.then(() => {
      throw new Error("the listener stopped before it was bound");
    }),
  ]);
  return { server, addr };
}

function peerOf(info: Deno.ServeHandlerInfo<Deno.NetAddr>): string {
  return `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
}

async function handleRequest(
  server: ExecServer,
  options: WebSocketListenerOptions,
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  watchdog: HandshakeWatchdog,
  consoleState: ConsoleState,
): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/readyz" && request.method === "GET") return new Response(null, { status: 200 });
  if (url.pathname === "/metrics" && request.method === "GET") {
    const refusal = await checkBearer(options.auth ?? { kind: "none" }, request);
    if (refusal) return refusal;
    const text = server.metrics.render(server);
    return new Response(text, { status: 200, headers: { "content-type": METRICS_CONTENT_TYPE } });
  }
  if (url.pathname.startsWith("/admin/")) {
    // An admin long-poll may outlast --handshake-timeout: the watchdog spares the connection meanwhile.
    const done = watchdog.busy(info.remoteAddr.port);
    try {
      return await handleAdmin(
        server,
        options.admin ?? { kind: "off" },
        request,
        peerOf(info),
        consoleState.logins,
      );
    } finally {
      done();
    }
  }
  if (url.pathname === "/console" || url.pathname.startsWith("/console/")) {
    const port = info.remoteAddr.port; // unreadable after an upgrade
    const response = await handleConsole(
      server,
      options.admin ?? { kind: "off" },
      consoleState,
      request,
      peerOf(info),
    );
    // The console's own WebSocket is a finished handshake too.
    if (response.status === 101) watchdog.upgraded(port);
    return response;
  }
  if (url.pathname !== "/") return new Response("not found", { status: 404 });
  const origin = request.headers.get("origin");
  if (origin !== null && !server.options.allowedOrigins.includes(origin)) {
    log.warn(`refused WebSocket upgrade from browser origin ${origin} (allow it with --allow-origin)`);
    return new Response("browser origins are not allowed", { status: 403 });
  }
  // Read the peer now: the request is unusable after the upgrade.
  const peer = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
  const refusal = await checkBearer(options.auth ?? { kind: "none" }, request);
  if (refusal) {
    log.warn(`refused WebSocket connection from ${peer}: ${await refusal.clone().text()}`);
    return refusal;
  }
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Connection header did not include 'upgrade'", { status: 400 });
  }
  if (server.connectionCount >= server.options.maxConnections) {
    log.warn(`refused connection: ${server.options.maxConnections} connections open (--max-connections)`);
    return new Response("too many connections", { status: 503 });
  }
  // Before the upgrade: the request (and its remoteAddr) is gone after it.
  watchdog.upgraded(info.remoteAddr.port);
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: server.options.wsPingTimeoutSec,
  });
  server.accept(
    new WebSocketTransport(socket, {
      description: `exec-server websocket ${peer}`,
      maxMessageBytes: server.options.maxMessageBytes,
      deliveryWindowBytes: server.options.deliveryWindowBytes ?? undefined,
    }),
    peer,
  );
  return response;
}
