/**
 * Opening a client WebSocket to an exec-server, with Codex's connect timeout (TCP + TLS + upgrade) and
 * error messages, optional handshake headers (bearer auth) and an optional CA bundle for `wss://`.
 *
 * @module
 */
import { DEFAULT_CONNECT_TIMEOUT_MS } from "../config/timeouts.ts";
import { WebSocketTransport } from "../rpc/websocket_transport.ts";
import { ExecServerClientError } from "./client_error.ts";
import { formatDuration } from "./duration_text.ts";

/** How to open the socket. */
export interface WebSocketConnectOptions {
  /** Covers TCP connect, TLS and the upgrade (default 10 s). */
  connectTimeoutMs?: number;
  /** Extra handshake headers, e.g. `{Authorization: "Bearer ..."}`. */
  headers?: Record<string, string>;
  /** PEM CA certificates trusted for `wss://` (in addition to the system roots). */
  caCertificates?: string[];
}

/** Opens `url` and returns a started-later transport over the open socket. */
export async function connectWebSocketTransport(
  url: string,
  options: WebSocketConnectOptions = {},
): Promise<WebSocketTransport> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const failed = (reason: string, cause?: unknown) =>
    new ExecServerClientError("connect", `failed to connect to exec-server websocket \`${url}\`: ${reason}`, {
      cause,
    });
  const httpClient = options.caCertificates?.length
    ? Deno.createHttpClient({ caCerts: options.caCertificates })
    : undefined;
  let socket: WebSocket;
  try {
    socket = new WebSocket(url, { headers: options.headers, client: httpClient });
  } catch (error) {
    httpClient?.close();
    throw failed((error as Error).message, error);
  }
  const opened = Promise.withResolvers<void>();
  let lastError = "";
  socket.onopen = () => opened.resolve();
  socket.onerror = (event) => {
    lastError = (event as ErrorEvent).message ?? "";
  };
  socket.onclose = (event) =>
    opened.reject(failed(lastError || `connection closed during the handshake (${event.code})`));
  const timer = setTimeout(() => {
    opened.reject(
      new ExecServerClientError(
        "connect-timeout",
        `timed out connecting to exec-server websocket \`${url}\` after ${formatDuration(timeoutMs)}`,
      ),
    );
  }, timeoutMs);
  try {
    await opened.promise;
  } catch (error) {
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close();
    } catch {
      // Not open yet.
    }
    httpClient?.close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  socket.onopen = null;
  socket.onclose = null;
  socket.onerror = null;
  return new WebSocketTransport(socket, { description: `exec-server websocket ${url}` });
}
