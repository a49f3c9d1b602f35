/**
 * The WebSocket adapter: `Deno.serve` + `Deno.upgradeWebSocket` on `/`, `GET /readyz` for health,
 * 404 elsewhere, browser `Origin`s refused unless allowed (a web page must never reach this server), and
 * connections held by a process this server sandboxed refused (see `sandbox_peer_refusal.ts`).
 *
 * @module
 */
import { WebSocketTransport } from "../rpc/websocket_transport.ts";
import { log } from "../util/log.ts";
import type { ExecServer } from "./exec_server.ts";
import { formatListenUrl } from "./listen_url.ts";
import { refuseSandboxedPeers } from "./sandbox_peer_refusal.ts";
import { checkBearer, type WebSocketAuth } from "./ws_auth.ts";

/** Where and how to listen. */
export interface WebSocketListenerOptions {
  hostname: string;
  port: number;
  /** PEM certificate and key: serve `wss://`. */
  tls?: { cert: string; key: string };
  /** Authentication checked before the upgrade (default: none). */
  auth?: WebSocketAuth;
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
export function listenWebSocket(
  server: ExecServer,
  options: WebSocketListenerOptions,
): Promise<WebSocketListener> {
  const { promise: bound, resolve: onBound } = Promise.withResolvers<Deno.NetAddr>();
  let boundPort = options.port;
  // Before anything else, token included: a process this server sandboxed never gets in.
  const handler = refuseSandboxedPeers(
    (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> =>
      handleRequest(server, options, request, info),
    () => boundPort,
  );
  const serveOptions = {
    hostname: options.hostname,
    port: options.port,
    onListen: (addr: Deno.NetAddr) => {
      boundPort = addr.port;
      onBound(addr);
    },
  };
  const httpServer = options.tls
    ? Deno.serve({ ...serveOptions, cert: options.tls.cert, key: options.tls.key }, handler)
    : Deno.serve(serveOptions, handler);
  return bound.then((addr) => ({
    url: formatListenUrl(options.tls !== undefined, addr.hostname, addr.port),
    close: () => httpServer.shutdown(),
    finished: httpServer.finished,
  }));
}

async function handleRequest(
  server: ExecServer,
  options: WebSocketListenerOptions,
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/readyz" && request.method === "GET") return new Response(null, { status: 200 });
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
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: server.options.wsPingTimeoutSec,
  });
  server.accept(
    new WebSocketTransport(socket, {
      description: `exec-server websocket ${peer}`,
      maxMessageBytes: server.options.maxMessageBytes,
    }),
  );
  return response;
}
