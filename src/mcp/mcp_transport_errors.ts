/** Errors the executor MCP transports report through `onerror` and rejected sends. @module */
import { StreamableHTTPError } from "./mcp_sdk.ts";

/** The stdio MCP server process ended (or was lost) while the transport was open. */
export class McpServerProcessError extends Error {
  /** The exit code, or `null` when the process was lost (executor disconnected) before it exited. */
  readonly exitCode: number | null;

  /** Creates the error; `message` carries the reason (exit code or the executor's failure text). */
  constructor(message: string, exitCode: number | null) {
    super(message);
    this.name = "McpServerProcessError";
    this.exitCode = exitCode;
  }
}

/**
 * The Streamable HTTP server no longer knows the session (HTTP 404 to a request carrying
 * `Mcp-Session-Id`, e.g. after a server restart or a DELETE). The MCP spec says to start a new session:
 * connect a new `Client` over a new transport. It is a `StreamableHTTPError` with `code` 404, so code
 * written against the SDK's own transport keeps working.
 */
export class McpSessionExpiredError extends StreamableHTTPError {
  /** The session id the server rejected. */
  readonly sessionId: string;

  /** Wraps the SDK's 404 error for `sessionId`. */
  constructor(sessionId: string, cause: Error) {
    super(404, `session ${sessionId} expired (HTTP 404); start a new session: ${cause.message}`);
    // The SDK's declaration hides Error's members from the checker; they are there at run time.
    const self = this as unknown as Error;
    self.name = "McpSessionExpiredError";
    self.cause = cause;
    this.sessionId = sessionId;
  }
}
