/**
 * Validation of `http/request` params into a ready-to-send request, with Codex 0.140.0's `-32602` texts.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { HttpRequestHeader, HttpRequestParams } from "../protocol/http.ts";
import { decodeBase64 } from "../util/base64.ts";

/** A validated request: what one hop of the exchange sends. */
export interface OutboundRequest {
  /** The method exactly as given (an RFC 7230 token; case is preserved). */
  method: string;
  url: URL;
  /** Lower-cased names, in order, duplicates kept. */
  headers: [name: string, value: string][];
  /** `null` when the params had no body (no `content-length` is sent then). */
  body: Uint8Array | null;
}

/** RFC 7230 `token`: what methods and header names are made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What the `http` crate's `HeaderValue::from_str` accepts: no control characters but HTAB, no DEL. */
const HEADER_VALUE = /^[\t\x20-\x7e\u0080-\u{10ffff}]*$/u;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.\-]*):/;

/** Explains a URL the WHATWG parser refused, in the Rust `url` crate's words where they can be told apart. */
function urlErrorDetail(text: string): string {
  const scheme = SCHEME.exec(text);
  if (!scheme) return "relative URL without a base";
  const rest = text.slice(scheme[0].length);
  const authority = /^\/\/([^/?#]*)/.exec(rest)?.[1];
  if (authority !== undefined) {
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    if (hostPort === "" || hostPort.startsWith(":")) return "empty host";
    if (hostPort.startsWith("[")) {
      if (!/^\[[^\]]*\](:\d*)?$/.test(hostPort) || !URL.canParse(`http://${hostPort.replace(/:\d*$/, "")}`)) {
        return "invalid IPv6 address";
      }
    }
    const port = /:([^:\]]*)$/.exec(hostPort)?.[1];
    if (port !== undefined && (!/^\d*$/.test(port) || Number(port) > 65535)) return "invalid port number";
  }
  return "invalid domain character";
}

/** Parses and checks the URL: absolute, `http` or `https`. */
export function validateUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw RpcError.invalidParams(`http/request url is invalid: ${urlErrorDetail(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw RpcError.invalidParams(
      `http/request only supports http and https URLs, got ${url.protocol.slice(0, -1)}`,
    );
  }
  return url;
}

/** Reads one environment variable of the executor; `undefined` when unset. */
export type EnvLookup = (name: string) => string | undefined;

/** The server process's own environment. A name Deno refuses (empty, `=`, NUL) is simply not set. */
export function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The value a header sends: `value`, then the executor's `valueEnvVar` when one is named. The variable must
 * be set and non-empty. Neither the variable's value nor the joined value appears in any error text.
 */
function headerValue(header: HttpRequestHeader, env: EnvLookup): string {
  const variable = header.valueEnvVar;
  if (variable === undefined || variable === null) return header.value;
  const fromEnv = env(variable);
  if (fromEnv === undefined) {
    throw RpcError.invalidParams(
      `http/request header ${header.name} requires executor environment variable ${variable}`,
    );
  }
  if (fromEnv === "") {
    throw RpcError.invalidParams(
      `http/request header ${header.name} requires a non-empty executor environment variable ${variable}`,
    );
  }
  return header.value + fromEnv;
}

/**
 * Checks method, URL, headers and body in the order the reference does; throws `-32602` on the first problem.
 * Per header: the name, then its `valueEnvVar` (from `env`), then the joined value.
 */
export function validateHttpRequest(params: HttpRequestParams, env: EnvLookup = processEnv): OutboundRequest {
  if (!TOKEN.test(params.method)) {
    throw RpcError.invalidParams("http/request method is invalid: invalid HTTP method");
  }
  const url = validateUrl(params.url);
  const headers: [string, string][] = [];
  for (const header of params.headers ?? []) {
    const { name } = header;
    if (!TOKEN.test(name)) {
      throw RpcError.invalidParams("http/request header name is invalid: invalid HTTP header name");
    }
    const value = headerValue(header, env);
    if (!HEADER_VALUE.test(value)) {
      throw RpcError.invalidParams(
        `http/request header value is invalid for ${name}: failed to parse header value`,
      );
    }
    headers.push([name.toLowerCase(), value]);
  }
  let body: Uint8Array | null = null;
  if (params.bodyBase64 !== undefined && params.bodyBase64 !== null) {
    try {
      body = decodeBase64(params.bodyBase64);
    } catch (error) {
      throw RpcError.invalidParams((error as Error).message);
    }
  }
  return { method: params.method, url, headers, body };
}
