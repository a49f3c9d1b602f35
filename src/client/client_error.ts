/**
 * The one error type of the client library. Its `kind` says what failed; its message is Codex 0.140.0's
 * display string for the same failure, so logs read the same.
 *
 * @module
 */
import type { RpcErrorObject } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";

/** What went wrong, coarsely: lets callers branch without parsing messages. */
export type ExecServerClientErrorKind =
  /** The stdio command could not be spawned. */
  | "spawn"
  /** The WebSocket connect (TCP + TLS + upgrade) did not finish within the connect timeout. */
  | "connect-timeout"
  /** The WebSocket connect failed (refused, bad URL, upgrade rejected). */
  | "connect"
  /** `initialize` + `initialized` did not finish within the initialize timeout. */
  | "initialize-timeout"
  /** The client was closed by its owner. */
  | "closed"
  /** The transport went away (peer exit, socket close, malformed input). */
  | "disconnected"
  /** The server answered with a JSON-RPC error; {@link ExecServerClientError.code} holds its code. */
  | "server"
  /** The server broke the protocol (a result that does not match the schema, a server-sent request). */
  | "protocol"
  /** A streamed `http/request` body failed (seq mismatch, error frame, overflow). */
  | "http-stream";

/** Extra facts carried by an {@link ExecServerClientError}. */
export interface ExecServerClientErrorDetails {
  /** The JSON-RPC error code, for `kind: "server"`. */
  code?: number;
  /** The server's message without our prefix, for `kind: "server"`. */
  serverMessage?: string;
  /** The error's `data`, for `kind: "server"` (e.g. `{kind: "spawnNotFound"}` from Codex 0.171 servers). */
  data?: unknown;
  cause?: unknown;
}

/** Every failure the client reports: connect, handshake, transport, server rejection, protocol. */
export class ExecServerClientError extends Error {
  override name = "ExecServerClientError";
  /** What failed. */
  readonly kind: ExecServerClientErrorKind;
  /** JSON-RPC code for `kind: "server"`. */
  readonly code?: number;
  /** The server's own message for `kind: "server"`. */
  readonly serverMessage?: string;
  /** The server's error `data`, for `kind: "server"`, when it sent any. */
  readonly data?: unknown;

  constructor(kind: ExecServerClientErrorKind, message: string, details: ExecServerClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    if (details.code !== undefined) this.code = details.code;
    if (details.serverMessage !== undefined) this.serverMessage = details.serverMessage;
    if (details.data !== undefined) this.data = details.data;
  }

  /** True for failures that mean "the exec-server could not be reached or went away". */
  get isConnectionFailure(): boolean {
    return this.kind === "spawn" || this.kind === "connect" || this.kind === "connect-timeout" ||
      this.kind === "initialize-timeout" || this.kind === "disconnected" || this.kind === "closed";
  }

  /** `exec-server rejected request (<code>): <message>`; `-32000` (transport closed) becomes a disconnect. */
  static fromRpcError(error: RpcErrorObject): ExecServerClientError {
    if (error.code === ErrorCode.TransportClosed) return ExecServerClientError.disconnected();
    return new ExecServerClientError(
      "server",
      `exec-server rejected request (${error.code}): ${error.message}`,
      { code: error.code, serverMessage: error.message, data: error.data },
    );
  }

  /** `exec-server transport disconnected[: <reason>]`. */
  static disconnected(reason?: string): ExecServerClientError {
    return new ExecServerClientError(
      "disconnected",
      reason ? `exec-server transport disconnected: ${reason}` : "exec-server transport disconnected",
    );
  }

  /** `exec-server transport closed`: the owner closed the client. */
  static closed(): ExecServerClientError {
    return new ExecServerClientError("closed", "exec-server transport closed");
  }

  /** `exec-server protocol error: <message>`. */
  static protocol(message: string, cause?: unknown): ExecServerClientError {
    return new ExecServerClientError("protocol", `exec-server protocol error: ${message}`, { cause });
  }
}
