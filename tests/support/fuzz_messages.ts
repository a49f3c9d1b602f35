/**
 * A seeded protocol fuzzer (failures reproduce from the seed) and a raw client to fire it at a server
 * subprocess over stdio or WebSocket, tracking every request id that must be answered.
 *
 * The generator knows which messages are requests with a valid id (a string, or an integer in the
 * signed 64-bit range, as the server classifies them) and records the id the reply must echo; everything
 * else (notifications, client responses, odd ids, malformed input) needs no reply. Values it generates
 * can never do harm: paths stay under a scratch directory, programs are a short fixed list that exits
 * quickly, URLs point at 127.0.0.1 port 1 (refused).
 *
 * @module
 */
import { sniffLeadingId } from "../../src/protocol/envelope.ts";
import { SERVER_ARGV, startWebSocketServer } from "./servers.ts";

/** mulberry32: tiny, fast, good enough for fuzzing, and fully determined by the seed. */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** One generated message. */
export interface FuzzMessage {
  /** Generator category (for reports). */
  kind: string;
  /** Text (sent as a text frame / one line) or raw bytes (a binary frame / raw bytes plus newline). */
  payload: string | Uint8Array;
  /** Reply ids this message must produce, as the server writes them (JSON text of the id). */
  expect: string[];
}

/** Generator options. */
export interface FuzzOptions {
  seed: number;
  /** Absolute directory that fs methods may touch. */
  scratchDir: string;
  /** The server's --max-message-bytes (oversized messages are generated just above it). */
  maxMessageBytes: number;
  /** "stdio" messages never contain a raw newline except in the binary/garbage kinds. */
  transport: "stdio" | "websocket";
  /** Scale for the largest generated payloads (1 = up to ~maxMessageBytes). */
  bigScale?: number;
}

const METHODS = [
  "initialize",
  "process/start",
  "process/read",
  "process/write",
  "process/signal",
  "process/terminate",
  "process/resize",
  "process/closeStdin",
  "environment/info",
  "fs/readFile",
  "fs/writeFile",
  "fs/createDirectory",
  "fs/getMetadata",
  "fs/canonicalize",
  "fs/readDirectory",
  "fs/remove",
  "fs/copy",
  "http/request",
] as const;

/** Signals that cannot wedge a fuzz process (no `stop`: a stopped child would never close). */
const SAFE_SIGNALS = ["interrupt", "terminate", "kill", "hangup", "quit", "user1", "user2", "continue"];

/** Programs a fuzz `process/start` may run: all exit on their own within ~0.1 s. */
const SAFE_ARGV = [["true"], ["echo", "fz"], ["sleep", "0.05"], [
  "sh",
  "-c",
  "echo out; echo err >&2; exit 3",
]];

const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "\\",
  '"',
  "\u2028\u2029",
  "é",
  "😀",
  "\ud800",
  "\udfff",
  "null",
  "{}",
  "[]",
  "-1",
  "../../etc",
  "%00",
  "\t\r",
];

const I64_MAX = 9223372036854775807n;

/** The seeded generator. */
export class FuzzGenerator {
  readonly rng: Prng;
  readonly #options: FuzzOptions;
  #nextId = 1;
  #usedIds: string[] = [];
  readonly #processIds = Array.from({ length: 10 }, (_, i) => `fz-${i}`);

  constructor(options: FuzzOptions) {
    this.#options = options;
    this.rng = new Prng(options.seed);
  }

  /** Messages over the size limit whose id the server cannot recover (their reply carries id -1). */
  unsniffableOversized = 0;

  /** The next message. */
  next(): FuzzMessage {
    const message = this.#generate();
    if (message.expect.length === 0) return message;
    const bytes = typeof message.payload === "string" ? encoder.encode(message.payload) : message.payload;
    if (bytes.length <= this.#options.maxMessageBytes) return message;
    // Too large to parse: the server answers with the id it can sniff from the first 512 bytes (the
    // framing layer's prefix), or -1. Model exactly that, using the server's own sniffer.
    const sniffed = sniffLeadingId(new TextDecoder().decode(bytes.subarray(0, 512)));
    if (sniffed === null) {
      this.unsniffableOversized++;
      return { ...message, expect: [] };
    }
    return { ...message, expect: [typeof sniffed === "object" ? sniffed.rawJSON : JSON.stringify(sniffed)] };
  }

  #generate(): FuzzMessage {
    const r = this.rng;
    const roll = r.int(1000);
    // Weights (per mille): mostly requests, with every malformed class well represented.
    if (roll < 250) return this.#request("plausible", this.#method(), this.#plausibleParams());
    if (roll < 450) return this.#request("wrong-types", this.#method(), this.#wrongParams());
    if (roll < 500) return this.#request("params-shape", this.#method(), this.#oddParamsShape());
    if (roll < 530) return this.#request("unknown-method", this.#unknownMethod(), this.#anyValue(2));
    if (roll < 560) return this.#notification();
    if (roll < 590) return this.#clientResponse();
    if (roll < 630) return this.#oddId();
    if (roll < 660) return this.#hugeIntId();
    if (roll < 690) return this.#stringId();
    if (roll < 740) return this.#malformedText();
    if (roll < 780) return this.#truncated();
    if (roll < 810) return this.#nonObject();
    if (roll < 830) return this.#deep();
    if (roll < 845) return this.#hugeString();
    if (roll < 852) return this.#oversized();
    if (roll < 900) return this.#binary();
    if (roll < 930) return this.#binaryRequest();
    if (roll < 960) return this.#duplicateId();
    return this.#envelopeVariant();
  }

  // ---- ids --------------------------------------------------------------------------------------

  #freshId(): { json: string; key: string } {
    const n = this.#nextId++;
    const r = this.rng;
    const choice = r.int(6);
    let json: string;
    if (choice === 0) json = JSON.stringify(`s-${n}`);
    else if (choice === 1) json = JSON.stringify(`${r.pick(WEIRD_STRINGS)}#${n}`);
    else if (choice === 2) json = String(-1_000 - n); // never -1, which is the parse-error id
    else if (choice === 3) json = String(I64_MAX - BigInt(n)); // beyond 2^53, exact digits expected back
    else json = String(1_000_000 + n);
    const key = json.startsWith('"') ? JSON.stringify(JSON.parse(json)) : json;
    this.#usedIds.push(json);
    return { json, key };
  }

  #request(kind: string, method: string, params: unknown, omitParams = false): FuzzMessage {
    const { json, key } = this.#freshId();
    const paramsText = omitParams ? "" : `,"params":${stringify(params)}`;
    return { kind, payload: `{"id":${json},"method":${JSON.stringify(method)}${paramsText}}`, expect: [key] };
  }

  #oddId(): FuzzMessage {
    // null, floats, ints beyond i64, booleans, objects, arrays: the message is a notification (or
    // matches nothing), so no reply is owed.
    const id = this.rng.pick([
      "null",
      "1.5",
      "-0.25",
      "9223372036854775808",
      "-9223372036854775809",
      "18446744073709551616",
      "1e400",
      "true",
      "{}",
      "[1]",
    ]);
    return {
      kind: "odd-id",
      payload: `{"id":${id},"method":${JSON.stringify(this.#method())},"params":{}}`,
      expect: [],
    };
  }

  #hugeIntId(): FuzzMessage {
    const r = this.rng;
    const n = BigInt(this.#nextId++);
    const json = r.chance(0.5) ? String(I64_MAX - n * 7919n) : String(-I64_MAX + n * 7919n);
    this.#usedIds.push(json);
    const method = this.#method();
    return {
      kind: "huge-int-id",
      payload: `{"jsonrpc":"2.0","id":${json},"method":${JSON.stringify(method)},"params":${
        stringify(this.#plausibleParamsFor(method))
      }}`,
      expect: [json],
    };
  }

  #stringId(): FuzzMessage {
    const n = this.#nextId++;
    const r = this.rng;
    const raw = r.pick([
      `${r.pick(WEIRD_STRINGS)}${n}`,
      `\\u0041-${n}`, // an escape in the source text: echoed as the decoded character
      `${"x".repeat(r.int(3000))}-${n}`,
    ]);
    // `raw` is JSON source between the quotes; escape what must be escaped except our deliberate \u.
    const body = raw.startsWith("\\u") ? raw : JSON.stringify(raw).slice(1, -1);
    const json = `"${body}"`;
    this.#usedIds.push(json);
    return {
      kind: "string-id",
      payload: `{"method":${JSON.stringify(this.#method())},"params":{},"id":${json}}`,
      expect: [JSON.stringify(JSON.parse(json))],
    };
  }

  #duplicateId(): FuzzMessage {
    if (this.#usedIds.length === 0) return this.#request("plausible", this.#method(), {});
    const json = this.rng.pick(this.#usedIds);
    const key = json.startsWith('"') ? JSON.stringify(JSON.parse(json)) : json;
    return {
      kind: "duplicate-id",
      payload: `{"id":${json},"method":${JSON.stringify(this.#method())},"params":${
        stringify(this.#plausibleParams())
      }}`,
      expect: [key],
    };
  }

  // ---- methods and params -----------------------------------------------------------------------

  #method(): string {
    return this.rng.pick(METHODS);
  }

  #unknownMethod(): string {
    return this.rng.pick([
      "",
      "process",
      "process/",
      "PROCESS/START",
      "process/start ",
      "fs/rm",
      "exec",
      "initialized",
      "rpc.discover",
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "x".repeat(1000),
      "\u0000",
      "process/output",
    ]);
  }

  #path(): string {
    const r = this.rng;
    const base = this.#options.scratchDir;
    return r.pick([
      `${base}/a`,
      `${base}/b`,
      `${base}/f.txt`,
      `${base}/a/f.txt`,
      `${base}/missing/x`,
      `${base}/${r.pick(WEIRD_STRINGS).replaceAll("/", "_")}`,
      `relative/${r.int(10)}`,
      "",
      `file://${base}/f.txt`,
      `file://otherhost${base}/f.txt`,
      `weird:${r.int(10)}`,
    ]);
  }

  /** A UUID-shaped string from the seeded stream (crypto.randomUUID would break reproducibility). */
  #uuid(): string {
    const hex = Array.from(this.rng.bytes(16), (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${
      hex.slice(20, 32)
    }`;
  }

  #processId(): string {
    return this.rng.chance(0.7) ? this.rng.pick(this.#processIds) : this.#string();
  }

  #string(): string {
    const r = this.rng;
    if (r.chance(0.3)) return r.pick(WEIRD_STRINGS);
    let s = "s";
    const n = r.int(24);
    for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.9) ? 0x20 + r.int(95) : r.int(0xd7ff));
    return s;
  }

  #number(): number {
    return this.rng.pick([0, 1, 7, 100, 4096, -1, 1.5, 65535, 65536, 2 ** 53, 1e300, -0]);
  }

  #smallWait(): number {
    return this.rng.pick([0, 1, 10, 50]);
  }

  /** Params shaped like the method's, values mostly valid. */
  #plausibleParamsFor(method: string): Record<string, unknown> {
    const r = this.rng;
    switch (method) {
      case "initialize":
        return { clientName: this.#string(), resumeSessionId: r.chance(0.5) ? this.#uuid() : null };
      case "process/start": {
        const params: Record<string, unknown> = {
          processId: this.#processId(),
          argv: r.chance(0.8) ? r.pick(SAFE_ARGV) : [],
          cwd: r.pick(["/tmp", this.#options.scratchDir, this.#path()]),
          env: { PATH: "/usr/bin:/bin" },
          tty: r.chance(0.2),
        };
        if (r.chance(0.3)) params.pipeStdin = r.chance(0.5);
        if (r.chance(0.1)) params.ackMode = r.pick(["auto", "notification", "read", "bogus"]);
        if (r.chance(0.1)) params.arg0 = r.pick(["fz", null]);
        if (r.chance(0.1)) params.rows = r.pick([1, 24, 0, 70000]);
        return params;
      }
      case "process/read":
        return {
          processId: this.#processId(),
          afterSeq: r.pick([0, 1, 2, 100, null]),
          maxBytes: r.pick([0, 1, 100, 65536, null]),
          waitMs: this.#smallWait(),
        };
      case "process/write":
        return { processId: this.#processId(), chunk: r.pick(["", "aGk=", "!!!!", "aGk", "a===", "\u00e9"]) };
      case "process/signal":
        return { processId: this.#processId(), signal: r.pick([...SAFE_SIGNALS, "SIGKILL", "bogus", ""]) };
      case "process/terminate":
      case "process/closeStdin":
        return { processId: this.#processId() };
      case "process/resize":
        return { processId: this.#processId(), rows: r.pick([1, 24, 0, -1]), cols: r.pick([1, 80, 70000]) };
      case "environment/info":
        return r.chance(0.7) ? {} : { x: 1 };
      case "fs/readFile":
        return {
          path: this.#path(),
          ...(r.chance(0.2) ? { offset: this.#number(), length: this.#number() } : {}),
        };
      case "fs/writeFile":
        return {
          path: this.#path(),
          dataBase64: r.pick(["", "aGVsbG8=", "!!", "aGVsbG8"]),
          ...(r.chance(0.2) ? { append: r.chance(0.5) } : {}),
        };
      case "fs/createDirectory":
        return { path: this.#path(), recursive: r.pick([true, false, null]) };
      case "fs/getMetadata":
      case "fs/canonicalize":
      case "fs/readDirectory":
        return { path: this.#path() };
      case "fs/remove":
        return {
          path: this.#path(),
          recursive: r.pick([true, false, null]),
          force: r.pick([true, false, null]),
        };
      case "fs/copy":
        return { sourcePath: this.#path(), destinationPath: this.#path(), recursive: r.chance(0.5) };
      case "http/request":
        return {
          method: r.pick(["GET", "POST", "", "BREW", "get\r\n"]),
          url: r.pick(["http://127.0.0.1:1/", "http://127.0.0.1:1/x?y", "ftp://127.0.0.1/", "not a url", ""]),
          requestId: this.#string(),
          headers: r.chance(0.3) ? [{ name: this.#string(), value: this.#string() }] : null,
          timeoutMs: r.pick([null, 100, 0]),
          streamResponse: r.chance(0.3),
        };
      default:
        return {};
    }
  }

  #plausibleParams(): Record<string, unknown> {
    return this.#plausibleParamsFor(this.#method());
  }

  /** A plausible object with some fields replaced by values of the wrong type, dropped, or added. */
  #wrongParams(): Record<string, unknown> {
    const r = this.rng;
    const params = this.#plausibleParams();
    const keys = Object.keys(params);
    const edits = 1 + r.int(3);
    for (let i = 0; i < edits; i++) {
      const op = r.int(4);
      if (op === 0 && keys.length > 0) params[r.pick(keys)] = this.#anyValue(2);
      else if (op === 1 && keys.length > 0) delete params[r.pick(keys)];
      else if (op === 2) params[this.#string()] = this.#anyValue(1);
      else if (keys.length > 0) params[r.pick(keys)] = r.pick([null, -1, 1.5, "", [], {}, true, 2 ** 64]);
    }
    return params;
  }

  #oddParamsShape(): unknown {
    return this.rng.pick([null, undefined, [], [1, 2, 3], ["a"], "str", 42, true, { "": "" }]);
  }

  #anyValue(depth: number): unknown {
    const r = this.rng;
    const kind = r.int(depth > 0 ? 8 : 6);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return r.chance(0.5);
      case 2:
        return this.#number();
      case 3:
        return this.#string();
      case 4:
        return r.pick([[], {}]);
      case 5:
        return r.pick(WEIRD_STRINGS);
      case 6:
        return Array.from({ length: r.int(4) }, () => this.#anyValue(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = r.int(4); i > 0; i--) o[this.#string()] = this.#anyValue(depth - 1);
        return o;
      }
    }
  }

  // ---- non-requests -----------------------------------------------------------------------------

  #notification(): FuzzMessage {
    const r = this.rng;
    const method = r.chance(0.3) ? "initialized" : r.chance(0.5) ? this.#unknownMethod() : this.#method();
    return {
      kind: "notification",
      payload: `{"method":${JSON.stringify(method)}${
        r.chance(0.5) ? `,"params":${stringify(this.#anyValue(2))}` : ""
      }}`,
      expect: [],
    };
  }

  #clientResponse(): FuzzMessage {
    const r = this.rng;
    const id = r.pick(["1", '"x"', "-1", "null", String(this.#nextId + 5)]);
    const body = r.pick([
      `"result":{}`,
      `"result":null`,
      `"error":{"code":-32600,"message":"no"}`,
      `"error":"flat"`,
      `"result":${stringify(this.#anyValue(2))}`,
    ]);
    return { kind: "client-response", payload: `{"id":${id},${body}}`, expect: [] };
  }

  #malformedText(): FuzzMessage {
    const r = this.rng;
    const text = r.pick([
      "{",
      "}",
      "{]",
      '{"id":1,"method":}',
      "{'id':1}",
      '{"id":1 "method":"x"}',
      "{id:1,method:'x'}",
      '{"a":1}{"b":2}',
      '{"id":1,"method":"environment/info"} {"id":2}',
      "undefined",
      "NaN",
      '{"id":NaN,"method":"x"}',
      "\u00ff\u00fe",
      "//comment",
      '{"id":1,"method":"x",}',
      '{"id":"\\x41","method":"x"}',
    ]);
    return { kind: "malformed", payload: r.chance(0.2) ? `  ${text}  ` : text, expect: [] };
  }

  #truncated(): FuzzMessage {
    const full = this.#request("plausible", this.#method(), this.#plausibleParams()).payload as string;
    const cut = 1 + this.rng.int(full.length - 1);
    return { kind: "truncated", payload: full.slice(0, cut), expect: [] };
  }

  #nonObject(): FuzzMessage {
    const r = this.rng;
    const inner = `{"id":${this.#freshId().json},"method":"environment/info"}`;
    const text = r.pick([
      "42",
      '"s"',
      "null",
      "true",
      "[]",
      `[${inner}]`,
      `[${inner},${inner}]`,
      "-0",
      "1e999",
    ]);
    // Batches are not supported: the requests inside are not answered individually.
    return { kind: "non-object", payload: text, expect: [] };
  }

  #deep(): FuzzMessage {
    const r = this.rng;
    const depth = r.pick([1_000, 10_000, 100_000]);
    const deepArray = "[".repeat(depth) + "]".repeat(depth);
    const deepObject = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    const value = r.chance(0.5) ? deepArray : deepObject;
    const method = this.#method();
    const where = r.int(4);
    if (where === 0) return { kind: "deep-bare", payload: value, expect: [] };
    const { json, key } = this.#freshId();
    const params = where === 1 ? value : where === 2 ? `{"processId":${value}}` : `{"env":{"K":${value}}}`;
    return {
      kind: "deep",
      payload: `{"id":${json},"method":${JSON.stringify(method)},"params":${params}}`,
      expect: [key],
    };
  }

  #hugeString(): FuzzMessage {
    const r = this.rng;
    const size = Math.floor((this.#options.maxMessageBytes / 2) * (this.#options.bigScale ?? 1) * r.float()) +
      1;
    const big = r.chance(0.5) ? "x".repeat(size) : "é".repeat(size >> 1);
    const method = this.#method();
    const field = r.pick(["processId", "path", "chunk", "clientName", "url", "dataBase64", "zzz"]);
    return this.#request("huge-string", method, { ...this.#plausibleParamsFor(method), [field]: big });
  }

  #oversized(): FuzzMessage {
    // Above the limit, with the id first so the server can still name it in the error. The server only
    // recovers string ids and integers of up to 15 digits from the prefix of an oversized message.
    const n = this.#nextId++;
    const json = this.rng.chance(0.5) ? `"big-${n}"` : String(2_000_000 + n);
    const key = json;
    const pad = "y".repeat(this.#options.maxMessageBytes + 1 + this.rng.int(1000));
    return {
      kind: "oversized",
      payload: `{"id":${json},"method":"fs/writeFile","params":{"path":"/x","dataBase64":"${pad}"}}`,
      expect: [key],
    };
  }

  #binary(): FuzzMessage {
    const r = this.rng;
    const n = r.pick([1, 2, 3, 16, 100, 4096]);
    const bytes = r.bytes(n);
    if (r.chance(0.5)) bytes[0] = r.pick([0xff, 0xc0, 0x80, 0xed]); // surely invalid UTF-8
    if (this.#options.transport === "stdio" && r.chance(0.7)) {
      // Mostly single-line garbage on stdio; sometimes keep the embedded newlines (extra lines).
      for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x0b;
    }
    return { kind: "binary", payload: bytes, expect: [] };
  }

  #binaryRequest(): FuzzMessage {
    const message = this.#request("binary-request", this.#method(), this.#plausibleParams());
    return { ...message, payload: new TextEncoder().encode(message.payload as string) };
  }

  #envelopeVariant(): FuzzMessage {
    const r = this.rng;
    const { json, key } = this.#freshId();
    const method = JSON.stringify(this.#method());
    const params = stringify(this.#plausibleParams());
    const text = r.pick([
      `{"jsonrpc":"1.0","id":${json},"method":${method},"params":${params}}`,
      `{"jsonrpc":42,"id":${json},"method":${method},"params":${params}}`,
      `{"params":${params},"method":${method},"id":${json}}`,
      `{"id":${json},"method":${method},"params":${params},"result":{},"extra":[1,2]}`,
      `\t{ "id" : ${json} , "method" : ${method} , "params" : ${params} }\r`,
      `{"id":${json},"method":${method}}`,
      `{"id":${json},"method":${method},"params":null}`,
    ]);
    return { kind: "envelope-variant", payload: text, expect: [key] };
  }
}

/** JSON.stringify that turns `undefined` into `null` (for "params": undefined). */
function stringify(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

// ---- driving a server ---------------------------------------------------------------------------

/** What a fuzz run observed. */
export interface FuzzReport {
  transport: "stdio" | "websocket";
  seed: number;
  /** Messages sent. */
  tried: number;
  byKind: Record<string, number>;
  /** Replies owed (requests with a valid id). */
  expected: number;
  /** Owed replies received. */
  answered: number;
  /** Owed replies never received: `kind id` for each. */
  unanswered: string[];
  /** Replies with an id nobody was owed (other than -1), or more replies than requests for an id. */
  unexpectedReplies: string[];
  /** Id -1 errors (unparseable input). */
  parseErrors: number;
  /** Oversized requests whose id could not be recovered (answered with id -1, not counted as owed). */
  unsniffableOversized: number;
  /** Reply error codes, counted. */
  codes: Record<string, number>;
  /** -32603 messages that look like a crash inside the server (TypeError and friends). */
  internalErrors: string[];
  /** A sample of the distinct -32603 messages (for the report). */
  internalMessages: string[];
  /** The connection closed or the server exited during the run. */
  crashed: string | null;
  /** `environment/info` answered after the run. */
  servesAfterwards: boolean;
  wallMs: number;
}

interface RawClient {
  send(payload: string | Uint8Array): Promise<void>;
  onReply(handler: (text: string) => void): void;
  readonly closed: Promise<string>;
  readonly closedReason: string | null;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

function stdioClient(args: string[]): RawClient {
  const child = new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), "--listen", "stdio", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  let handler: (text: string) => void = () => {};
  let closedReason: string | null = null;
  const closed = (async () => {
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          handler(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      }
    } catch {
      // Treated as EOF.
    }
    const status = await child.status;
    closedReason = `server stdout ended (exit code ${status.code}, signal ${status.signal})`;
    return closedReason;
  })();
  return {
    async send(payload) {
      const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
      const line = new Uint8Array(bytes.length + 1);
      line.set(bytes);
      line[bytes.length] = 0x0a;
      await writer.write(line);
    },
    onReply(h) {
      handler = h;
    },
    closed,
    get closedReason() {
      return closedReason;
    },
    async close() {
      await writer.close().catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

async function websocketClient(
  args: string[],
): Promise<RawClient & { serverStatus: Promise<Deno.CommandStatus> }> {
  const server = await startWebSocketServer(args);
  const socket = new WebSocket(server.url!);
  socket.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("websocket connect failed"));
  });
  let handler: (text: string) => void = () => {};
  let closedReason: string | null = null;
  const closed = new Promise<string>((resolve) => {
    socket.onclose = (event) => {
      closedReason = `websocket closed (${event.code} ${event.reason})`;
      resolve(closedReason);
    };
  });
  socket.onmessage = (event) => handler(String(event.data));
  return {
    serverStatus: server.child.status,
    async send(payload) {
      // Bounded wait for the socket to drain (large payloads), so memory stays flat.
      for (let i = 0; i < 2_000 && socket.bufferedAmount > 8 * 1024 * 1024; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(payload as string);
    },
    onReply(h) {
      handler = h;
    },
    closed,
    get closedReason() {
      return closedReason;
    },
    async close() {
      socket.close();
      await server.close();
    },
  };
}

const REPLY_ID = /^\{"jsonrpc":"2\.0","id":("(?:[^"\\]|\\.)*"|-?\d+),/;
/** Messages that mean a JS exception escaped a handler rather than a deliberate error. */
const CRASH_TEXT =
  /TypeError|RangeError|ReferenceError|SyntaxError|is not a function|Cannot read prop|undefined|Maximum call stack/;

/**
 * Sends `count` generated messages to a fresh server subprocess over `transport`, then waits (bounded by
 * `settleMs`) for every owed reply, and checks the server still answers `environment/info`.
 */
export async function runFuzz(options: {
  transport: "stdio" | "websocket";
  seed: number;
  count: number;
  scratchDir: string;
  maxMessageBytes?: number;
  settleMs?: number;
  bigScale?: number;
}): Promise<FuzzReport> {
  const started = performance.now();
  const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
  const args = ["--max-message-bytes", String(maxMessageBytes), "--retention", "2"];
  const client = options.transport === "stdio" ? stdioClient(args) : await websocketClient(args);
  const generator = new FuzzGenerator({
    seed: options.seed,
    scratchDir: options.scratchDir,
    maxMessageBytes,
    transport: options.transport,
    bigScale: options.bigScale,
  });
  const owed = new Map<string, { count: number; kind: string }>();
  const report: FuzzReport = {
    transport: options.transport,
    seed: options.seed,
    tried: 0,
    byKind: {},
    expected: 0,
    answered: 0,
    unanswered: [],
    unexpectedReplies: [],
    parseErrors: 0,
    unsniffableOversized: 0,
    codes: {},
    internalErrors: [],
    internalMessages: [],
    crashed: null,
    servesAfterwards: false,
    wallMs: 0,
  };
  let wake: (() => void) | null = null;
  client.onReply((text) => {
    const match = REPLY_ID.exec(text);
    if (!match) return; // A notification (process/output etc.).
    const key = match[1];
    const codeMatch = /"error":\{"code":(-?\d+),"message":("(?:[^"\\]|\\.)*")/.exec(text);
    if (codeMatch) {
      report.codes[codeMatch[1]] = (report.codes[codeMatch[1]] ?? 0) + 1;
      const message = JSON.parse(codeMatch[2]) as string;
      if (codeMatch[1] === "-32603") {
        if (CRASH_TEXT.test(message)) report.internalErrors.push(message);
        const short = message.slice(0, 120);
        if (report.internalMessages.length < 20 && !report.internalMessages.includes(short)) {
          report.internalMessages.push(short);
        }
      }
    } else {
      report.codes.ok = (report.codes.ok ?? 0) + 1;
    }
    if (key === "-1") {
      report.parseErrors++;
      return;
    }
    const entry = owed.get(key);
    if (!entry) {
      report.unexpectedReplies.push(text.slice(0, 200));
      return;
    }
    if (entry.kind !== "handshake" && entry.kind !== "final") report.answered++;
    if (--entry.count === 0) owed.delete(key);
    if (owed.size === 0) wake?.();
  });
  try {
    // Handshake first so gated methods reach their handlers.
    owed.set('"fuzz-init"', { count: 1, kind: "handshake" });
    await client.send('{"id":"fuzz-init","method":"initialize","params":{"clientName":"fuzz"}}');
    await client.send('{"method":"initialized"}');
    for (let i = 0; i < options.count; i++) {
      const message = generator.next();
      report.tried++;
      report.byKind[message.kind] = (report.byKind[message.kind] ?? 0) + 1;
      for (const key of message.expect) {
        const entry = owed.get(key);
        if (entry) entry.count++;
        else owed.set(key, { count: 1, kind: message.kind });
        report.expected++;
      }
      await client.send(message.payload);
      if (client.closedReason) break;
    }
    report.unsniffableOversized = generator.unsniffableOversized;
    // Everything owed, or the deadline.
    const settle = options.settleMs ?? 30_000;
    if (owed.size > 0 && !client.closedReason) {
      const { promise, resolve } = Promise.withResolvers<void>();
      wake = resolve;
      const timer = setTimeout(resolve, settle);
      await Promise.race([promise, client.closed]);
      clearTimeout(timer);
    }
    for (const [key, entry] of owed) {
      if (key !== '"fuzz-init"') report.unanswered.push(`${entry.kind} ${key.slice(0, 80)} x${entry.count}`);
    }
    // A normal request still works.
    if (!client.closedReason) {
      owed.clear();
      owed.set('"after-fuzz"', { count: 1, kind: "final" });
      const { promise, resolve } = Promise.withResolvers<void>();
      wake = resolve;
      await client.send('{"id":"after-fuzz","method":"environment/info"}');
      const timer = setTimeout(resolve, 10_000);
      await Promise.race([promise, client.closed]);
      clearTimeout(timer);
      report.servesAfterwards = !owed.has('"after-fuzz"');
    }
    report.crashed = client.closedReason;
  } finally {
    await client.close();
  }
  report.wallMs = Math.round(performance.now() - started);
  return report;
}
