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
 * @module
 */

/** The protocol: zod schemas, inferred types, typed method descriptors, error codes, envelope. */
export * from "./src/protocol/mod.ts";

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

/** Transports (one JSON-RPC message per line or frame), usable by servers and clients alike. */
export type { MessageTransport, TransportHandlers } from "./src/rpc/transport.ts";
export { StreamTransport, type StreamTransportOptions } from "./src/rpc/stream_transport.ts";
export { WebSocketTransport, type WebSocketTransportOptions } from "./src/rpc/websocket_transport.ts";

/**
 * The client: {@link ExecServerClient} over WebSocket or a stdio command, process handles with ordered
 * events, the lazy reconnecting client, and the {@link EnvironmentManager} built from `environments.toml`.
 */
export * from "./src/client/mod.ts";

/** MCP SDK transports whose I/O goes through an executor (stdio servers on the host; Streamable HTTP from it). */
export * from "./src/mcp/mod.ts";

/** `environments.toml` and `CODEX_EXEC_SERVER_URL`, resolved at parse time. */
export { ConfigError } from "./src/config/config_error.ts";
export {
  type EnvironmentConfig,
  type EnvironmentsConfig,
  parseEnvironmentsToml,
  type StdioEnvironmentConfig,
  type WebSocketEnvironmentConfig,
} from "./src/config/environments_toml.ts";
export { loadEnvironments, type LoadEnvironmentsOptions } from "./src/config/load_environments.ts";

/** Building a child environment from `env` + `envPolicy`, as the server does. */
export { buildChildEnv } from "./src/process/env_policy.ts";

/** This build's version. */
export { VERSION } from "./src/version.ts";
