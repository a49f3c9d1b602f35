/**
 * `ExecutorStreamableHttpTransport`: the MCP Streamable HTTP client transport with every HTTP exchange
 * (POST messages, GET event stream, DELETE session) carried by a streamed `http/request` on an
 * exec-server, as Codex does for MCP servers configured with `environment_id`.
 *
 * The protocol logic is the MCP SDK's own `StreamableHTTPClientTransport` (session and protocol-version
 * headers, `Accept: application/json, text/event-stream`, 202 for notifications, JSON or SSE responses,
 * SSE event ids and resumption), driven through {@link createExecutorFetch}; this class adds the
 * executor and reports an expired session as {@link McpSessionExpiredError}.
 *
 * Redirects follow the SDK's `redirectPolicy` option. With its default, `same-origin`, every request goes
 * out with `redirectPolicy: "stop"` and the SDK looks at each 3xx itself: a redirect within the origin that
 * keeps the method is followed, any other (another host or port, for instance) fails the request with
 * `Redirect to <url> not followed`, so custom headers, the `Mcp-Session-Id` and the message body never reach
 * another origin. With `follow`, the executor follows redirects (dropping only credentials across origins).
 *
 * @module
 */
import {
  type JSONRPCMessage,
  type MessageExtraInfo,
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
  StreamableHTTPError,
  type Transport,
  type TransportSendOptions,
} from "./mcp_sdk.ts";
import { ExecServerClient } from "../client/exec_server_client.ts";
import { createExecutorFetch, type ExecutorFetchOptions } from "./executor_fetch.ts";
import type { ExecutorSource } from "./executor_source.ts";
import { McpSessionExpiredError } from "./mcp_transport_errors.ts";

/** Options: the SDK transport's own (except `fetch`, which is the executor) plus the fetch options. */
export type ExecutorStreamableHttpTransportOptions =
  & Omit<StreamableHTTPClientTransportOptions, "fetch">
  & ExecutorFetchOptions;

/**
 * An MCP Streamable HTTP server reached through an exec-server, as an MCP SDK client transport.
 *
 * @example
 * ```ts
 * const transport = new ExecutorStreamableHttpTransport(client, "http://127.0.0.1:8080/mcp");
 * const mcp = new Client({ name: "demo", version: "1.0.0" });
 * await mcp.connect(transport);
 * ```
 */
export class ExecutorStreamableHttpTransport implements Transport {
  /** Called once when the transport closes ({@link close}, or the executor client disconnected). */
  onclose?: () => void;
  /** Called for HTTP and SSE errors; an expired session is a {@link McpSessionExpiredError}. */
  onerror?: (error: Error) => void;
  /** Called with every JSON-RPC message from the server (JSON bodies and SSE events). */
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  readonly #inner: StreamableHTTPClientTransport;
  readonly #source: ExecutorSource;
  /** The same mapped error for `onerror` and the rejected send. */
  readonly #mapped = new WeakMap<Error, Error>();
  #closed = false;

  /** Targets `url` (as the executor resolves it); nothing is sent until {@link start}. */
  constructor(
    source: ExecutorSource,
    url: string | URL,
    options: ExecutorStreamableHttpTransportOptions = {},
  ) {
    const { timeoutMs, ...sdkOptions } = options;
    this.#source = source;
    this.#inner = new StreamableHTTPClientTransport(new URL(url), {
      ...sdkOptions,
      fetch: createExecutorFetch(source, { timeoutMs }),
    });
    this.#inner.onmessage = (message) => this.onmessage?.(message);
    this.#inner.onerror = (error) => this.onerror?.(this.#map(error));
    this.#inner.onclose = () => this.#finish();
  }

  /** The `Mcp-Session-Id` the server assigned (kept for every later request). */
  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  /** The negotiated protocol version, sent as `Mcp-Protocol-Version`. */
  get protocolVersion(): string | undefined {
    return this.#inner.protocolVersion;
  }

  /** Called by the SDK client after `initialize`. */
  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion(version);
  }

  /** Starts the transport; a bare client's disconnect then closes it with an error. */
  async start(): Promise<void> {
    await this.#inner.start();
    if (this.#source instanceof ExecServerClient) {
      this.#source.disconnected.then((error) => {
        if (this.#closed) return;
        this.onerror?.(new Error(`exec-server transport disconnected: ${error.message}`, { cause: error }));
        this.close().catch(() => {});
      });
    }
  }

  /** POSTs a message; a response stream (SSE) or JSON body is delivered through `onmessage`. */
  async send(message: JSONRPCMessage | JSONRPCMessage[], options?: TransportSendOptions): Promise<void> {
    try {
      await this.#inner.send(message as JSONRPCMessage, options);
    } catch (error) {
      throw this.#map(error as Error);
    }
  }

  /** Ends open streams (the GET event stream included); does not DELETE the session. */
  async close(): Promise<void> {
    await this.#inner.close();
    this.#finish();
  }

  /** DELETEs the session on the server (405 means the server keeps sessions: accepted). */
  async terminateSession(): Promise<void> {
    try {
      await this.#inner.terminateSession();
    } catch (error) {
      throw this.#map(error as Error);
    }
  }

  /** Re-opens the GET event stream from `lastEventId` (the SDK's resumption). */
  resumeStream(
    lastEventId: string,
    options?: { onresumptiontoken?: (token: string) => void },
  ): Promise<void> {
    return this.#inner.resumeStream(lastEventId, options);
  }

  #map(error: Error): Error {
    const known = this.#mapped.get(error);
    if (known) return known;
    const sessionId = this.#inner.sessionId;
    let mapped = error;
    if (error instanceof StreamableHTTPError && error.code === 404 && sessionId !== undefined) {
      mapped = new McpSessionExpiredError(sessionId, error);
    }
    this.#mapped.set(error, mapped);
    return mapped;
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}
