/**
 * exec-server: a remote-execution agent speaking Codex's exec-server JSON-RPC protocol over WebSocket
 * and stdio, and the client side that drives it.
 *
 * ```ts
 * import { ExecServer, listenWebSocket } from "./mod.ts";
 *
 * const server = new ExecServer({ sessionTtlMs: 30_000 });
 * const listener = await listenWebSocket(server, { hostname: "127.0.0.1", port: 0 });
 * console.log(listener.url); // ws://127.0.0.1:PORT
 * ```
 *
 * The client alone (no server, no MCP SDK) is `client.ts`; this module adds the server and the MCP
 * transports to it.
 *
 * @module
 */

/** Everything of `client.ts`: the protocol, transports, the client and environments. */
export * from "./client.ts";

/** The server core and its transport adapters. */
export { ExecServer } from "./src/server/exec_server.ts";
export { DEFAULT_SERVER_OPTIONS, type ServerOptions } from "./src/server/options.ts";
export {
  listenWebSocket,
  type WebSocketListener,
  type WebSocketListenerOptions,
} from "./src/server/websocket_listener.ts";
export { serveStdio } from "./src/server/stdio_server.ts";
export { type ListenTarget, parseListenUrl } from "./src/server/listen_url.ts";

/** MCP SDK transports whose I/O goes through an executor (stdio servers on the host; Streamable HTTP from it). */
export { clientOf, type ExecutorSource } from "./src/mcp/executor_source.ts";
export {
  DEFAULT_CLOSE_GRACE_MS,
  type ExecutorStdioServerParams,
  ExecutorStdioTransport,
  type ExecutorStdioTransportOptions,
  MCP_STDIO_ENV_POLICY,
} from "./src/mcp/executor_stdio_transport.ts";
export {
  ExecutorStreamableHttpTransport,
  type ExecutorStreamableHttpTransportOptions,
} from "./src/mcp/executor_streamable_http_transport.ts";
export { createExecutorFetch, type ExecutorFetchOptions } from "./src/mcp/executor_fetch.ts";
export { McpServerProcessError, McpSessionExpiredError } from "./src/mcp/mcp_transport_errors.ts";

/** Building a child environment from `env` + `envPolicy`, as the server does. */
export { buildChildEnv } from "./src/process/env_policy.ts";
