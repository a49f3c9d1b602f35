/** `http/request` and its streamed-body notification. @module */
import * as z from "../util/zod.ts";
import { lazySchema, optional, u64 } from "./schema.ts";

/** One header; a list keeps order and duplicates. */
export const HttpHeaderSchema = lazySchema(() => z.object({ name: z.string(), value: z.string() }));
export type HttpHeader = z.infer<typeof HttpHeaderSchema>;

/**
 * A request header (Codex 0.171). With `valueEnvVar`, the value sent is `value` followed by that environment
 * variable of the executor (the server process), so a secret never crosses the wire: the variable must be
 * set and non-empty, or the request fails with `-32602`.
 */
export const HttpRequestHeaderSchema = lazySchema(() =>
  z.object({ name: z.string(), value: z.string(), valueEnvVar: optional(z.string()) })
);
export type HttpRequestHeader = z.infer<typeof HttpRequestHeaderSchema>;

/** `redirectPolicy`: `follow` (the default: up to 10 hops) or `stop` (the 3xx response is the result). */
export type HttpRedirectPolicy = "follow" | "stop";
const REDIRECT_POLICIES: readonly string[] = ["follow", "stop"];

/** A JSON value in serde_json's "invalid type" words (which say `number` for any number). */
function serdeUnexpected(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  if (typeof value === "boolean") return `boolean \`${value}\``;
  if (typeof value === "number") return "number";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  return "map";
}

/**
 * Why `value` is not a redirect policy, in the reference's (serde's) words, or `null` when it is one.
 * Serde takes a unit variant as a string (`"stop"`) or as a one-key map with a null value (`{"stop":null}`).
 */
function redirectPolicyProblem(value: unknown): string | null {
  const unknownVariant = (name: string) => `unknown variant \`${name}\`, expected \`follow\` or \`stop\``;
  if (typeof value === "string") return REDIRECT_POLICIES.includes(value) ? null : unknownVariant(value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `invalid type: ${serdeUnexpected(value)}, expected string or map`;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) return "invalid value: map, expected map with a single key";
  if (!REDIRECT_POLICIES.includes(keys[0])) return unknownVariant(keys[0]);
  const inner = (value as Record<string, unknown>)[keys[0]];
  return inner === null ? null : `invalid type: ${serdeUnexpected(inner)}, expected unit`;
}

/** `redirectPolicy` on input: `"follow"`, `"stop"`, or serde's map form `{"stop": null}`; `null` is refused. */
export const HttpRedirectPolicySchema = lazySchema(() =>
  z.pipe(
    z.unknown(),
    z.transform((value: unknown, payload): HttpRedirectPolicy => {
      const problem = redirectPolicyProblem(value);
      if (problem !== null) {
        payload.issues.push({ code: "custom", message: problem, input: value });
        return z.NEVER;
      }
      return (typeof value === "string" ? value : Object.keys(value as object)[0]) as HttpRedirectPolicy;
    }),
  )
);

export const HttpRequestParamsSchema = lazySchema(() =>
  z.object({
    method: z.string(),
    url: z.string(),
    headers: optional(z.array(HttpRequestHeaderSchema)),
    bodyBase64: optional(z.string()),
    /** Deadline for the whole exchange, streamed body included. */
    timeoutMs: optional(u64),
    /** Required (as in 0.140.0); names the `bodyDelta` stream when `streamResponse` is true. */
    requestId: z.string(),
    streamResponse: optional(z.boolean()),
    /** Absent means `follow`; `null` is refused, as by the reference. */
    redirectPolicy: z.optional(HttpRedirectPolicySchema),
  })
);
export type HttpRequestParams = z.infer<typeof HttpRequestParamsSchema>;

export const HttpRequestResultSchema = lazySchema(() =>
  z.object({
    status: z.int(),
    headers: z.array(HttpHeaderSchema),
    /** The whole body, or `""` when streaming. */
    bodyBase64: z.string(),
  })
);
export type HttpRequestResult = z.infer<typeof HttpRequestResultSchema>;

/** `http/request/bodyDelta`: seq from 1; the last frame has `done:true`, an empty delta, and `error` on failure. */
export const HttpBodyDeltaNotificationSchema = lazySchema(() =>
  z.object({
    requestId: z.string(),
    seq: u64,
    deltaBase64: z.string(),
    done: z.boolean(),
    error: z.nullable(z.string()),
  })
);
export type HttpBodyDeltaNotification = z.infer<typeof HttpBodyDeltaNotificationSchema>;

/**
 * `http/cancel` (ours; Codex answers -32601): ends the streamed `http/request` `requestId` of this
 * connection: its upstream connection is closed and no further `bodyDelta` frame is sent (no terminal frame
 * either); the id is free again at once. A request still waiting for its headers fails with `-32603`.
 */
export const HttpCancelParamsSchema = lazySchema(() => z.object({ requestId: z.string() }));
export type HttpCancelParams = z.infer<typeof HttpCancelParamsSchema>;
/** `cancelled` is false when no streamed request of that id was active (finished already, or never). */
export const HttpCancelResultSchema = lazySchema(() => z.object({ cancelled: z.boolean() }));
export type HttpCancelResult = z.infer<typeof HttpCancelResultSchema>;
