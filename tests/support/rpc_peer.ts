/**
 * A raw JSON-RPC peer for server tests: sends exact bytes or requests, correlates responses, and
 * collects notifications that tests can wait for (with a deadline, never a sleep).
 *
 * Every successful result of a request sent with {@link RpcPeer.request} is checked against the result
 * schema of its method (`REQUESTS` in `src/protocol/methods.ts`): a result the schema rejects, or a member
 * the schema does not know, fails that request with {@link ResultSchemaError}, so the server and the
 * protocol's schemas cannot drift apart unnoticed.
 *
 * @module
 */
import { encodeNotification, encodeRequest } from "../../src/protocol/envelope.ts";
import { REQUESTS } from "../../src/protocol/methods.ts";
import { formatIssue } from "../../src/protocol/schema.ts";
import type { MessageTransport } from "../../src/rpc/transport.ts";

/** A message as received, parsed. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** A response or error received for a request. */
export interface Reply {
  id: unknown;
  result?: Json;
  error?: { code: number; message: string; data?: Json };
}

/** Error thrown by {@link RpcPeer.call} for an error reply. */
export class ReplyError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** A successful result that its method's result schema does not describe. */
export class ResultSchemaError extends Error {
  override name = "ResultSchemaError";
  constructor(readonly method: string, readonly problem: string, readonly result: unknown) {
    super(
      `${method} result does not match its protocol schema: ${problem} (result: ${JSON.stringify(result)})`,
    );
  }
}

/**
 * What is wrong with `result` as a result of `method`, or null when its schema accepts it and keeps every
 * member (a member the schema strips is a field the protocol does not declare). Methods without a
 * descriptor (unknown methods, which only ever get errors) are not checked.
 */
export function resultSchemaProblem(method: string, result: unknown): string | null {
  const descriptor = REQUESTS[method];
  if (!descriptor) return null;
  const parsed = descriptor.result.safeParse(result);
  if (!parsed.success) return formatIssue(parsed.error.issues[0], result);
  const undeclared = undeclaredMember(result, parsed.data, "");
  return undeclared === null ? null : `member \`${undeclared}\` is not in the schema`;
}

/** The path of the first object member of `raw` missing from its parsed form, or null. */
function undeclaredMember(raw: unknown, parsed: unknown, path: string): string | null {
  if (Array.isArray(raw) && Array.isArray(parsed)) {
    for (let i = 0; i < raw.length; i++) {
      const found = undeclaredMember(raw[i], parsed[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (raw === null || typeof raw !== "object" || parsed === null || typeof parsed !== "object") return null;
  for (const [key, value] of Object.entries(raw)) {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(parsed, key)) return at;
    const found = undeclaredMember(value, (parsed as Record<string, unknown>)[key], at);
    if (found !== null) return found;
  }
  return null;
}

/** A peer over any message transport. */
export class RpcPeer {
  readonly notifications: Json[] = [];
  readonly replies: Reply[] = [];
  /** Every message exactly as received (for checks JSON.parse would blur, like huge ids). */
  readonly raw: string[] = [];
  readonly #pending = new Map<
    string,
    { method: string; settle: (reply: Reply | ResultSchemaError) => void }
  >();
  #waiters: Array<() => void> = [];
  #nextId = 1;
  readonly closed: Promise<string>;
  #closedFlag = false;

  readonly #checkResults: boolean;

  /**
   * `checkResults: false` is for peers of the reference server, whose results may carry members our schemas
   * do not declare yet; the check guards our server's results.
   */
  constructor(readonly transport: MessageTransport, options: { checkResults?: boolean } = {}) {
    this.#checkResults = options.checkResults ?? true;
    const { promise, resolve } = Promise.withResolvers<string>();
    this.closed = promise;
    transport.start({
      onMessage: (text) => this.#onMessage(text),
      onFramingError: (reason) => {
        throw new Error(`peer framing error: ${reason}`);
      },
      onClose: (reason) => {
        this.#closedFlag = true;
        this.#wake();
        resolve(reason);
      },
    });
  }

  get isClosed(): boolean {
    return this.#closedFlag;
  }

  #onMessage(text: string): void {
    this.raw.push(text);
    const message = JSON.parse(text);
    if ("method" in message && !("id" in message)) {
      this.notifications.push(message);
    } else {
      this.replies.push(message);
      const key = JSON.stringify(message.id);
      const pending = this.#pending.get(key);
      if (pending) {
        this.#pending.delete(key);
        const problem = this.#checkResults && "result" in message
          ? resultSchemaProblem(pending.method, message.result)
          : null;
        pending.settle(
          problem === null ? message : new ResultSchemaError(pending.method, problem, message.result),
        );
      }
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Sends raw text as one message. */
  sendRaw(text: string): void {
    this.transport.send(text);
  }

  /**
   * Sends a request and resolves with the whole reply; rejects with {@link ResultSchemaError} when a
   * successful result does not match its method's result schema.
   */
  request(method: string, params?: unknown, id: string | number = this.#nextId++): Promise<Reply> {
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    this.#pending.set(JSON.stringify(id), {
      method,
      settle: (reply) => reply instanceof ResultSchemaError ? reject(reply) : resolve(reply),
    });
    this.transport.send(encodeRequest(id, method, params ?? null));
    return promise;
  }

  /** Sends a request and resolves with its result, or throws {@link ReplyError}. */
  async call(method: string, params?: unknown): Promise<Json> {
    const reply = await this.request(method, params);
    if (reply.error) throw new ReplyError(reply.error.code, reply.error.message);
    return reply.result;
  }

  notify(method: string, params?: unknown): void {
    this.transport.send(encodeNotification(method, params ?? {}));
  }

  /** `initialize` + `initialized`; returns the session id. */
  async handshake(resumeSessionId?: string): Promise<string> {
    const result = await this.call("initialize", {
      clientName: "test",
      resumeSessionId: resumeSessionId ?? null,
    });
    this.notify("initialized");
    return result.sessionId;
  }

  /** Waits until `predicate` holds over what has been received (fails after `timeoutMs`). */
  async until<T>(predicate: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (this.#closedFlag) throw new Error(`connection closed while waiting for ${what}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Notifications for one process, in arrival order. */
  processEvents(processId: string): Json[] {
    return this.notifications.filter((n) => n.params?.processId === processId);
  }

  /** Waits for a process's `closed` and returns all its events. */
  waitClosed(processId: string, timeoutMs = 20_000): Promise<Json[]> {
    return this.until(
      () =>
        this.processEvents(processId).some((n) => n.method === "process/closed") &&
        this.processEvents(processId),
      `process/closed of ${processId}`,
      timeoutMs,
    );
  }

  close(): void {
    this.transport.close();
  }
}

/** Decodes a base64 chunk to text. */
export function b64text(chunk: string): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(chunk));
}

/** Encodes text as base64. */
export function textb64(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

/** Concatenated output text of a process's `process/output` notifications (by seq). */
export function outputText(events: Json[], stream?: string): string {
  return events
    .filter((n) => n.method === "process/output" && (!stream || n.params.stream === stream))
    .sort((a, b) => a.params.seq - b.params.seq)
    .map((n) => b64text(n.params.chunk))
    .join("");
}
