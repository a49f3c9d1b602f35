/**
 * The exec-server client library: {@link ExecServerClient} over WebSocket, a stdio command or any
 * message transport; process handles with ordered events; the lazy client; and the
 * {@link EnvironmentManager} built from `environments.toml`. The one index of the client's public API:
 * `client.ts` and `mod.ts` re-export it.
 *
 * @module
 */
export { ExecServerClientError, type ExecServerClientErrorKind } from "./client_error.ts";
export { type ExecServerTransportParams } from "./connector.ts";
export { DEFAULT_INITIALIZE_TIMEOUT_MS } from "../config/timeouts.ts";
export { DEFAULT_CLIENT_NAME, type SessionOptions } from "./client_session.ts";
export {
  ExecServerClient,
  type ExecServerClientOptions,
  type HttpStreamParams,
  type HttpStreamResponse,
  INHERIT_ALL_ENV_POLICY,
  type RunOptions,
  type RunResult,
  type StartProcessParams,
} from "./exec_server_client.ts";
export type {
  ProcessClosedEvent,
  ProcessDroppedEvent,
  ProcessEvent,
  ProcessExitedEvent,
  ProcessFailedEvent,
  ProcessOutcome,
  ProcessOutputEvent,
  SequencedProcessEvent,
} from "./process_event.ts";
export { ProcessHandle, type ProcessHandleOptions } from "./process_handle.ts";
export { HttpBodyStream } from "./http_body_stream.ts";
export { type ClientFactory, LazyRemoteClient } from "./lazy_remote_client.ts";
export { Environment, type EnvironmentOptions, type LocalExecServer } from "./environment.ts";
export { EnvironmentManager, type EnvironmentManagerLoadOptions } from "./environment_manager.ts";
export { createMemoryTransportPair } from "./memory_transport.ts";
export { type StdioCommand } from "./stdio_command.ts";
export { type WebSocketConnectOptions } from "./websocket_connect.ts";
