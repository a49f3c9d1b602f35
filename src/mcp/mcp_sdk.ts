/**
 * The parts of the MCP SDK the executor transports use, by full npm specifier in one place: the rest of
 * `src/mcp/` imports them from here, so `mod.ts` works when imported from outside this project, without
 * our `deno.json`.
 *
 * @module
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
export {
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
  StreamableHTTPError,
} from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";
export type {
  FetchLike,
  Transport,
  TransportSendOptions,
} from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport";
export type { JSONRPCMessage, MessageExtraInfo } from "npm:@modelcontextprotocol/sdk@1.32.2/types";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export { JSONRPCMessageSchema } from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
