/**
 * `http/request`: outbound HTTP/1.1 from the host, buffered or with a streamed body.
 *
 * @module
 */
export type { HttpOptions } from "./http_options.ts";
export { compileAllowHosts, type HostPolicy } from "./allow_hosts.ts";
export {
  createHttpRequestHandler,
  type HttpRequestHandler,
  type HttpRequestOutcome,
} from "./http_request_handler.ts";
export { MAX_FRAME_BYTES } from "./body_stream.ts";
