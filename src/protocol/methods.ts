/**
 * Typed method descriptors (vscode-jsonrpc style): one constant per request and notification, carrying
 * its wire name, params/result schemas and handshake gate. The server dispatches on them and the client
 * calls through them, so both sides share one definition.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { lazySchema } from "./schema.ts";
import {
  CapabilityRootsParamsSchema,
  CapabilityRootsResultSchema,
  DiscoverV2ParamsSchema,
  DiscoverV2ResultSchema,
  EnvironmentConfigReadParamsSchema,
  EnvironmentConfigReadResultSchema,
} from "./capabilities.ts";
import { EnvironmentInfoResultSchema, EnvironmentStatusResultSchema } from "./environment.ts";
import {
  FsCanonicalizeResultSchema,
  FsCloseParamsSchema,
  FsCopyParamsSchema,
  FsCreateDirectoryParamsSchema,
  FsMetadataSchema,
  FsMissingChangedNotificationSchema,
  FsOpenParamsSchema,
  FsOpenResultSchema,
  FsPathParamsSchema,
  FsReadBlockParamsSchema,
  FsReadBlockResultSchema,
  FsReadDirectoryResultSchema,
  FsReadFileParamsSchema,
  FsReadFileResultSchema,
  FsRemoveParamsSchema,
  FsWalkParamsSchema,
  FsWalkResultSchema,
  FsWatchMissingParamsSchema,
  FsWatchMissingResultSchema,
  FsWriteBlockParamsSchema,
  FsWriteFileParamsSchema,
} from "./fs.ts";
import {
  HttpBodyDeltaNotificationSchema,
  HttpCancelParamsSchema,
  HttpCancelResultSchema,
  HttpRequestParamsSchema,
  HttpRequestResultSchema,
} from "./http.ts";
import { InitializeParamsSchema, InitializeResultSchema } from "./initialize.ts";
import {
  EmptyResultSchema,
  ProcessAckParamsSchema,
  ProcessClosedNotificationSchema,
  ProcessCloseStdinParamsSchema,
  ProcessCloseStdinResultSchema,
  ProcessExitedNotificationSchema,
  ProcessOutputNotificationSchema,
  ProcessReadParamsSchema,
  ProcessReadResultSchema,
  ProcessResizeParamsSchema,
  ProcessSignalParamsSchema,
  ProcessStartParamsSchema,
  ProcessStartResultSchema,
  ProcessTerminateParamsSchema,
  ProcessTerminateResultSchema,
  ProcessWriteParamsSchema,
  ProcessWriteResultSchema,
} from "./process.ts";

/** The handshake gate family named in `-32600` gate errors; `null` for `initialize` itself. */
export type GateFamily =
  | "exec"
  | "filesystem"
  | "http"
  | "environment info"
  | "environment status"
  | "capability discovery"
  | "environment config"
  | null;

/** A request method: name, schemas, gate, and the struct name used in null-params errors. */
export interface RequestType<P, R> {
  readonly kind: "request";
  readonly method: string;
  readonly params: z.ZodMiniType<P>;
  readonly result: z.ZodMiniType<R>;
  readonly gate: GateFamily;
  /** For `invalid type: null, expected struct X`; `null` means the method takes no params (unit). */
  readonly paramsTypeName: string | null;
}

/** A notification method. */
export interface NotificationType<P> {
  readonly kind: "notification";
  readonly method: string;
  readonly params: z.ZodMiniType<P>;
}

/** Params type of a request descriptor. */
export type ParamsOf<T> = T extends RequestType<infer P, unknown> ? P
  : T extends NotificationType<infer P> ? P
  : never;
/** Result type of a request descriptor. */
export type ResultOf<T> = T extends RequestType<unknown, infer R> ? R : never;

function request<P, R>(
  method: string,
  params: z.ZodMiniType<P>,
  result: z.ZodMiniType<R>,
  gate: GateFamily,
  paramsTypeName: string | null,
): RequestType<P, R> {
  return { kind: "request", method, params, result, gate, paramsTypeName };
}

function notification<P>(method: string, params: z.ZodMiniType<P>): NotificationType<P> {
  return { kind: "notification", method, params };
}

const UnitParams = lazySchema(() => z.null());

export const Initialize = request(
  "initialize",
  InitializeParamsSchema,
  InitializeResultSchema,
  null,
  "InitializeParams",
);
export const ProcessStart = request(
  "process/start",
  ProcessStartParamsSchema,
  ProcessStartResultSchema,
  "exec",
  "ExecParams",
);
export const ProcessRead = request(
  "process/read",
  ProcessReadParamsSchema,
  ProcessReadResultSchema,
  "exec",
  "ReadParams",
);
export const ProcessWrite = request(
  "process/write",
  ProcessWriteParamsSchema,
  ProcessWriteResultSchema,
  "exec",
  "WriteParams",
);
export const ProcessSignal = request(
  "process/signal",
  ProcessSignalParamsSchema,
  EmptyResultSchema,
  "exec",
  "SignalParams",
);
export const ProcessTerminate = request(
  "process/terminate",
  ProcessTerminateParamsSchema,
  ProcessTerminateResultSchema,
  "exec",
  "TerminateParams",
);
export const ProcessResize = request(
  "process/resize",
  ProcessResizeParamsSchema,
  EmptyResultSchema,
  "exec",
  "ResizeParams",
);
export const ProcessCloseStdin = request(
  "process/closeStdin",
  ProcessCloseStdinParamsSchema,
  ProcessCloseStdinResultSchema,
  "exec",
  "CloseStdinParams",
);
export const ProcessAck = request(
  "process/ack",
  ProcessAckParamsSchema,
  EmptyResultSchema,
  "exec",
  "AckParams",
);
export const EnvironmentInfo = request(
  "environment/info",
  UnitParams,
  EnvironmentInfoResultSchema,
  "environment info",
  null,
);
export const EnvironmentStatus = request(
  "environment/status",
  UnitParams,
  EnvironmentStatusResultSchema,
  "environment status",
  null,
);
export const CapabilitiesDiscoverV2 = request(
  "capabilities/discoverV2",
  DiscoverV2ParamsSchema,
  DiscoverV2ResultSchema,
  "capability discovery",
  "DiscoverV2CapabilitiesRequest",
);
export const CapabilityRootsDiscoverV1 = request(
  "capabilityRoots/discoverV1",
  CapabilityRootsParamsSchema,
  CapabilityRootsResultSchema,
  "capability discovery",
  "WireCapabilityRootsDiscoverParams",
);
export const EnvironmentConfigRead = request(
  "environmentConfig/read",
  EnvironmentConfigReadParamsSchema,
  EnvironmentConfigReadResultSchema,
  "environment config",
  "EnvironmentConfigReadParams",
);
export const FsReadFile = request(
  "fs/readFile",
  FsReadFileParamsSchema,
  FsReadFileResultSchema,
  "filesystem",
  "FsReadFileParams",
);
export const FsWriteFile = request(
  "fs/writeFile",
  FsWriteFileParamsSchema,
  EmptyResultSchema,
  "filesystem",
  "FsWriteFileParams",
);
export const FsCreateDirectory = request(
  "fs/createDirectory",
  FsCreateDirectoryParamsSchema,
  EmptyResultSchema,
  "filesystem",
  "FsCreateDirectoryParams",
);
export const FsGetMetadata = request(
  "fs/getMetadata",
  FsPathParamsSchema,
  FsMetadataSchema,
  "filesystem",
  "FsGetMetadataParams",
);
export const FsCanonicalize = request(
  "fs/canonicalize",
  FsPathParamsSchema,
  FsCanonicalizeResultSchema,
  "filesystem",
  "FsCanonicalizeParams",
);
export const FsReadDirectory = request(
  "fs/readDirectory",
  FsPathParamsSchema,
  FsReadDirectoryResultSchema,
  "filesystem",
  "FsReadDirectoryParams",
);
export const FsRemove = request(
  "fs/remove",
  FsRemoveParamsSchema,
  EmptyResultSchema,
  "filesystem",
  "FsRemoveParams",
);
export const FsCopy = request("fs/copy", FsCopyParamsSchema, EmptyResultSchema, "filesystem", "FsCopyParams");
export const FsOpen = request(
  "fs/open",
  FsOpenParamsSchema,
  FsOpenResultSchema,
  "filesystem",
  "WireFsOpenParams",
);
export const FsReadBlock = request(
  "fs/readBlock",
  FsReadBlockParamsSchema,
  FsReadBlockResultSchema,
  "filesystem",
  "FsReadBlockParams",
);
export const FsWriteBlock = request(
  "fs/writeBlock",
  FsWriteBlockParamsSchema,
  EmptyResultSchema,
  "filesystem",
  "FsWriteBlockParams",
);
export const FsClose = request(
  "fs/close",
  FsCloseParamsSchema,
  EmptyResultSchema,
  "filesystem",
  "FsCloseParams",
);
export const FsWalk = request(
  "fs/walk",
  FsWalkParamsSchema,
  FsWalkResultSchema,
  "filesystem",
  "WireFsWalkParams",
);
export const FsWatchMissing = request(
  "fs/watchMissing",
  FsWatchMissingParamsSchema,
  FsWatchMissingResultSchema,
  "filesystem",
  "FsWatchMissingParams",
);
export const HttpRequest = request(
  "http/request",
  HttpRequestParamsSchema,
  HttpRequestResultSchema,
  "http",
  "HttpRequestParams",
);
/** Ours: cancels one streamed `http/request` of this connection. */
export const HttpCancel = request(
  "http/cancel",
  HttpCancelParamsSchema,
  HttpCancelResultSchema,
  "http",
  "HttpCancelParams",
);

export const Initialized = notification("initialized", lazySchema(() => z.unknown()));
export const ProcessOutput = notification("process/output", ProcessOutputNotificationSchema);
export const ProcessExited = notification("process/exited", ProcessExitedNotificationSchema);
export const ProcessClosed = notification("process/closed", ProcessClosedNotificationSchema);
export const HttpBodyDelta = notification("http/request/bodyDelta", HttpBodyDeltaNotificationSchema);
export const FsMissingChanged = notification("fs/missingChanged", FsMissingChangedNotificationSchema);

/** Every request method, keyed by wire name. */
export const REQUESTS = Object.fromEntries(
  [
    Initialize,
    ProcessStart,
    ProcessRead,
    ProcessWrite,
    ProcessSignal,
    ProcessTerminate,
    ProcessResize,
    ProcessCloseStdin,
    ProcessAck,
    EnvironmentInfo,
    EnvironmentStatus,
    CapabilitiesDiscoverV2,
    CapabilityRootsDiscoverV1,
    EnvironmentConfigRead,
    FsReadFile,
    FsWriteFile,
    FsCreateDirectory,
    FsGetMetadata,
    FsCanonicalize,
    FsReadDirectory,
    FsRemove,
    FsCopy,
    FsOpen,
    FsReadBlock,
    FsWriteBlock,
    FsClose,
    FsWalk,
    FsWatchMissing,
    HttpRequest,
    HttpCancel,
  ].map((d) => [d.method, d as RequestType<unknown, unknown>]),
) as Readonly<Record<string, RequestType<unknown, unknown>>>;
