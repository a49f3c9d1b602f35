/**
 * The client side of exec-server without the server, the MCP SDK or anything of the host: the protocol
 * (descriptors, schemas' types, errors), transports, {@link ExecServerClient}, environments from
 * `environments.toml`. What a script that only drives exec-servers imports:
 *
 * ```ts
 * import { ExecServerClient } from "./client.ts";
 *
 * const client = await ExecServerClient.connect({ kind: "websocket", url: "ws://127.0.0.1:8765" });
 * const { exitCode, stdout } = await client.run(["uname", "-a"]);
 * await client.close();
 * ```
 *
 * @module
 */

/** Protocol errors: the JSON-RPC error codes and the error a handler or a call fails with. */
export { ErrorCode, type ErrorCodeValue, RpcError, type RpcErrorObject } from "./src/protocol/errors.ts";
export type { RequestId } from "./src/protocol/envelope.ts";

/**
 * Typed method descriptors (wire name, params/result schemas, handshake gate): pass one to
 * {@link ExecServerClient.request} to call any method with typed params and result.
 */
export {
  EnvironmentInfo,
  FsCanonicalize,
  FsClose,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsMissingChanged,
  FsOpen,
  FsReadBlock,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWalk,
  FsWatchMissing,
  FsWriteBlock,
  FsWriteFile,
  type GateFamily,
  HttpBodyDelta,
  HttpCancel,
  HttpRequest,
  Initialize,
  Initialized,
  type NotificationType,
  type ParamsOf,
  ProcessAck,
  ProcessClosed,
  ProcessCloseStdin,
  ProcessExited,
  ProcessOutput,
  ProcessRead,
  ProcessResize,
  ProcessSignal,
  ProcessStart,
  ProcessTerminate,
  ProcessWrite,
  type RequestType,
  type ResultOf,
} from "./src/protocol/methods.ts";

/** The params, results and notifications of the protocol, as TypeScript types. */
export type { InitializeParams, InitializeResult } from "./src/protocol/initialize.ts";
export type { EnvInherit, EnvPolicy } from "./src/protocol/env_policy.ts";
export type { PermissionProfile, SandboxContext } from "./src/protocol/sandbox.ts";
export type {
  AckMode,
  EmptyResult,
  OutputChunk,
  OutputStream,
  ProcessAckParams,
  ProcessClosedNotification,
  ProcessCloseStdinParams,
  ProcessCloseStdinResult,
  ProcessExitedNotification,
  ProcessOutputNotification,
  ProcessReadParams,
  ProcessReadResult,
  ProcessResizeParams,
  ProcessSignalParams,
  ProcessStartParams,
  ProcessStartResult,
  ProcessTerminateParams,
  ProcessTerminateResult,
  ProcessWriteParams,
  ProcessWriteResult,
  SignalName,
  WriteStatus,
} from "./src/protocol/process.ts";
export type {
  FsCloseParams,
  FsCopyParams,
  FsCreateDirectoryParams,
  FsDirectoryEntry,
  FsMetadata,
  FsMissingChangedNotification,
  FsOpenMode,
  FsOpenParams,
  FsOpenResult,
  FsPathParams,
  FsReadBlockParams,
  FsReadBlockResult,
  FsReadDirectoryResult,
  FsReadFileParams,
  FsReadFileResult,
  FsRemoveParams,
  FsWalkParams,
  FsWalkResult,
  FsWatchMissingParams,
  FsWatchMissingResult,
  FsWriteBlockParams,
  FsWriteFileParams,
} from "./src/protocol/fs.ts";
export type {
  HttpBodyDeltaNotification,
  HttpCancelParams,
  HttpCancelResult,
  HttpHeader,
  HttpRedirectPolicy,
  HttpRequestHeader,
  HttpRequestParams,
  HttpRequestResult,
} from "./src/protocol/http.ts";
export type { EnvironmentInfoResult } from "./src/protocol/environment.ts";

/** Transports (one JSON-RPC message per line or frame), usable by servers and clients alike. */
export type { MessageTransport, TransportHandlers, TransportKind } from "./src/rpc/transport.ts";
export { StreamTransport, type StreamTransportOptions } from "./src/rpc/stream_transport.ts";
export { WebSocketTransport, type WebSocketTransportOptions } from "./src/rpc/websocket_transport.ts";

/**
 * The client: {@link ExecServerClient} over WebSocket or a stdio command, process handles with ordered
 * events, the lazy reconnecting client, and the {@link EnvironmentManager} built from `environments.toml`.
 */
export * from "./src/client/mod.ts";

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

/** This build's version. */
export { VERSION } from "./src/version.ts";
