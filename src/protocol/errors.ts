/**
 * JSON-RPC error codes used on the exec-server wire, and the one error type that carries them.
 *
 * The codes and messages match Codex 0.140.0's `exec-server` so existing clients map them the same way
 * (`-32004` is NotFound, `-32600` InvalidInput, anything else a generic failure).
 *
 * @module
 */

/** Every error code the server emits or the client recognises. */
export const ErrorCode = {
  /** Handshake gates, unparseable input (with id -1), unknown session/process, fs permission errors. */
  InvalidRequest: -32600,
  /** Unknown method: ``exec-server stub does not implement `<m>` yet``. */
  MethodNotFound: -32601,
  /** Params that do not decode, or fail validation; the message names the field. */
  InvalidParams: -32602,
  /** Spawn failures, OS errors other than not-found/permission, sandbox helper failures. */
  InternalError: -32603,
  /** A filesystem path that does not exist. */
  NotFound: -32004,
  /** Newer Codex's code for "session already attached" (0.140.0 uses -32600). */
  SessionAlreadyAttached: -32010,
  /** Synthesised by clients for a closed transport; never sent by the server. */
  TransportClosed: -32000,
} as const;

/** One of the {@link ErrorCode} values (or any other integer a peer sent). */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** The `error` member of a JSON-RPC error response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** A JSON-RPC error: thrown by handlers, sent as an error response, and raised by the client on one. */
export class RpcError extends Error {
  override name = "RpcError";
  readonly code: ErrorCodeValue;
  readonly data?: unknown;

  constructor(code: ErrorCodeValue, message: string, options?: { data?: unknown; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.code = code;
    if (options?.data !== undefined) this.data = options.data;
  }

  /** The wire form (`{code, message}`; `data` only when set). */
  toJSON(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  static invalidRequest(message: string): RpcError {
    return new RpcError(ErrorCode.InvalidRequest, message);
  }
  static invalidParams(message: string): RpcError {
    return new RpcError(ErrorCode.InvalidParams, message);
  }
  static internal(message: string, cause?: unknown): RpcError {
    return new RpcError(ErrorCode.InternalError, message, { cause });
  }
  static notFound(message: string): RpcError {
    return new RpcError(ErrorCode.NotFound, message);
  }
  static methodNotFound(method: string): RpcError {
    return new RpcError(ErrorCode.MethodNotFound, `exec-server stub does not implement \`${method}\` yet`);
  }
}
