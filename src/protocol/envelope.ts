/**
 * The JSON-RPC message envelope as exec-server speaks it.
 *
 * Input is classified by shape, like the reference: an object with `method` and a valid `id` is a request,
 * with `method` alone a notification, with `id` and `result`/`error` a response. `jsonrpc` is optional on
 * input and always emitted (`"2.0"`) on output.
 *
 * @module
 */
import type { RpcErrorObject } from "./errors.ts";

/** A request id: a string or an integer (large integers keep their exact digits via `JSON.rawJSON`). */
export type RequestId = string | number | RawJsonId;

/** An integer id beyond 2^53 that must be echoed with its exact digits. */
export interface RawJsonId {
  readonly rawJSON: string;
}

/** A request received or sent. */
export interface RequestMessage {
  kind: "request";
  id: RequestId;
  method: string;
  params?: unknown;
}

/** A notification received or sent. */
export interface NotificationMessage {
  kind: "notification";
  method: string;
  params?: unknown;
}

/** A response (success or error) received. */
export interface ResponseMessage {
  kind: "response";
  id: RequestId;
  result?: unknown;
  error?: RpcErrorObject;
}

/** Any classified incoming message. */
export type IncomingMessage = RequestMessage | NotificationMessage | ResponseMessage;

/** The outcome of {@link parseMessage}: a message, or the reason it could not be parsed. */
export type ParseOutcome = { ok: true; message: IncomingMessage } | { ok: false; reason: string };

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/**
 * Parses and classifies one JSON-RPC message. Never throws: bad JSON or a shape that matches nothing
 * yields `{ok:false, reason}` with the parser's text, for the id -1 error response.
 */
export function parseMessage(text: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (typeof value !== "object" || value === null) {
    return { ok: false, reason: "data did not match any variant of untagged enum JSONRPCMessage" };
  }
  if (Array.isArray(value)) {
    return {
      ok: false,
      reason: value.length === 0
        ? "JSON-RPC batch must not be empty"
        : "JSON-RPC batches are not supported; send one message at a time",
    };
  }
  const record = value as Record<string, unknown>;
  const id = classifyId(record.id, text);
  if (typeof record.method === "string") {
    if (id !== undefined) {
      return { ok: true, message: { kind: "request", id, method: record.method, params: record.params } };
    }
    return { ok: true, message: { kind: "notification", method: record.method, params: record.params } };
  }
  if (id !== undefined && ("result" in record || "error" in record)) {
    const message: ResponseMessage = { kind: "response", id };
    if ("result" in record) message.result = record.result;
    if (isErrorObject(record.error)) message.error = record.error;
    else if ("error" in record) {
      message.error = { code: -32603, message: String(JSON.stringify(record.error)) };
    }
    return { ok: true, message };
  }
  return { ok: false, reason: "data did not match any variant of untagged enum JSONRPCMessage" };
}

function isErrorObject(value: unknown): value is RpcErrorObject {
  return typeof value === "object" && value !== null && typeof (value as RpcErrorObject).code === "number" &&
    typeof (value as RpcErrorObject).message === "string";
}

/** A valid id is a string or an i64; anything else (null, 1.5, 2^63) makes the message a notification. */
function classifyId(id: unknown, text: string): RequestId | undefined {
  if (typeof id === "string") return id;
  if (typeof id !== "number" || !Number.isInteger(id)) return undefined;
  if (Number.isSafeInteger(id)) return id;
  // JSON.parse rounded the digits: recover the top-level id's own source text so the echo is exact.
  const digits = topLevelIdSource(text);
  if (digits === undefined || !/^-?\d+$/.test(digits)) return undefined;
  const big = BigInt(digits);
  if (big > I64_MAX || big < I64_MIN) return undefined;
  return { rawJSON: digits };
}

/**
 * The source text of the top-level `id` (not a nested one). Only used for integer ids beyond 2^53, so the
 * scan is rare; it walks the root object's members without recursion, so any nesting depth is fine and an
 * `"id"` inside params is never mistaken for the request's.
 */
function topLevelIdSource(text: string): string | undefined {
  const scanner = new MemberScanner(text);
  if (!scanner.openRoot()) return undefined;
  for (;;) {
    const key = scanner.nextKey();
    if (key === undefined) return undefined;
    if (key === "id") return scanner.integer();
    if (!scanner.skipValue()) return undefined;
  }
}

/** A forward-only walk over the members of a JSON text's root object (the text is known to be valid). */
class MemberScanner {
  #i = 0;
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }

  openRoot(): boolean {
    this.#skipSpace();
    if (this.#text[this.#i] !== "{") return false;
    this.#i++;
    return true;
  }

  /** The next member's key (positioned after its `:`), or undefined at the end of the object. */
  nextKey(): string | undefined {
    this.#skipSpace();
    if (this.#text[this.#i] === ",") this.#i++;
    this.#skipSpace();
    if (this.#text[this.#i] !== '"') return undefined;
    const start = this.#i;
    this.#skipString();
    const key = JSON.parse(this.#text.slice(start, this.#i)) as string;
    this.#skipSpace();
    this.#i++; // ':'
    this.#skipSpace();
    return key;
  }

  integer(): string | undefined {
    return /-?\d+/y.exec(this.#text.slice(this.#i, this.#i + 32))?.[0];
  }

  /** Skips one value of any depth, iteratively. */
  skipValue(): boolean {
    const text = this.#text;
    let depth = 0;
    while (this.#i < text.length) {
      const c = text[this.#i];
      if (c === '"') this.#skipString();
      else if (c === "{" || c === "[") {
        depth++;
        this.#i++;
      } else if (c === "}" || c === "]") {
        if (depth === 0) return true;
        depth--;
        this.#i++;
      } else if (c === "," && depth === 0) return true;
      else this.#i++;
      // A string or a closed container at depth 0 was the whole value.
      if (depth === 0 && (c === '"' || c === "}" || c === "]")) return true;
    }
    return false;
  }

  #skipString(): void {
    const text = this.#text;
    this.#i++;
    while (this.#i < text.length) {
      const c = text[this.#i];
      if (c === "\\") this.#i += 2;
      else if (c === '"') {
        this.#i++;
        return;
      } else this.#i++;
    }
  }

  #skipSpace(): void {
    const text = this.#text;
    while (this.#i < text.length && " \t\r\n".includes(text[this.#i])) this.#i++;
  }
}

function idToJson(id: RequestId): string {
  return typeof id === "object" ? id.rawJSON : JSON.stringify(id);
}

/** Serialises a success response. */
export function encodeResult(id: RequestId, result: unknown): string {
  return `{"jsonrpc":"2.0","id":${idToJson(id)},"result":${JSON.stringify(result ?? {})}}`;
}

/**
 * A success response whose result is already JSON, given in parts (see `MessageTransport.send`): the
 * parts are not joined here, so a large payload is never copied into a bigger string.
 */
export function encodeResultParts<P>(id: RequestId, resultParts: readonly P[]): (string | P)[] {
  return [`{"jsonrpc":"2.0","id":${idToJson(id)},"result":`, ...resultParts, "}"];
}

/** Serialises an error response. `id` null means the request's id could not be known (sent as -1). */
export function encodeError(id: RequestId | null, error: RpcErrorObject): string {
  return `{"jsonrpc":"2.0","id":${id === null ? "-1" : idToJson(id)},"error":${JSON.stringify(error)}}`;
}

/** Serialises a notification. */
export function encodeNotification(method: string, params: unknown): string {
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${JSON.stringify(params ?? {})}}`;
}

/** Serialises a request (client side). */
export function encodeRequest(id: RequestId, method: string, params: unknown): string {
  return `{"jsonrpc":"2.0","id":${idToJson(id)},"method":${JSON.stringify(method)},"params":${
    JSON.stringify(params ?? null)
  }}`;
}

/**
 * Best-effort id of a message that is too large to parse: only when `id` is the first member (after an
 * optional `jsonrpc`), which is how Codex and most clients write requests. Lets the error reach the caller.
 * An integer id is classified as in {@link parseMessage}: beyond 2^53 its digits are echoed exactly, beyond
 * i64 it is no id at all.
 */
export function sniffLeadingId(prefix: string): RequestId | null {
  const match =
    /^\s*\{\s*(?:"jsonrpc"\s*:\s*"[^"]*"\s*,\s*)?"id"\s*:\s*(-?(?:0|[1-9]\d{0,19})|"(?:[^"\\]|\\.){0,256}")\s*,/
      .exec(prefix);
  if (!match) return null;
  const source = match[1];
  if (source.startsWith('"')) {
    try {
      return JSON.parse(source) as string;
    } catch {
      return null;
    }
  }
  const big = BigInt(source);
  if (big > I64_MAX || big < I64_MIN) return null;
  return Number.isSafeInteger(Number(source)) ? Number(source) : { rawJSON: source };
}
