/**
 * MCP servers through the executor: MCP SDK client transports whose traffic runs on an exec-server.
 * {@link ExecutorStdioTransport} runs a stdio MCP server as a remote process; {@link ExecutorStreamableHttpTransport}
 * reaches a Streamable HTTP MCP server with `http/request` from the executor's side.
 *
 * @module
 */
export { clientOf, type ExecutorSource } from "./executor_source.ts";
export {
  DEFAULT_CLOSE_GRACE_MS,
  type ExecutorStdioServerParams,
  ExecutorStdioTransport,
  type ExecutorStdioTransportOptions,
  MCP_STDIO_ENV_POLICY,
} from "./executor_stdio_transport.ts";
export {
  ExecutorStreamableHttpTransport,
  type ExecutorStreamableHttpTransportOptions,
} from "./executor_streamable_http_transport.ts";
export { createExecutorFetch, type ExecutorFetchOptions } from "./executor_fetch.ts";
export { McpServerProcessError, McpSessionExpiredError } from "./mcp_transport_errors.ts";
