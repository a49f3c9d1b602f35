/** `http/request` and its streamed-body notification. @module */
import * as z from "zod/mini";
import { lazySchema, optional, u64 } from "./schema.ts";

/** One header; a list keeps order and duplicates. */
export const HttpHeaderSchema = lazySchema(() => z.object({ name: z.string(), value: z.string() }));
export type HttpHeader = z.infer<typeof HttpHeaderSchema>;

export const HttpRequestParamsSchema = lazySchema(() =>
  z.object({
    method: z.string(),
    url: z.string(),
    headers: optional(z.array(HttpHeaderSchema)),
    bodyBase64: optional(z.string()),
    /** Deadline for the whole exchange, streamed body included. */
    timeoutMs: optional(u64),
    /** Required (as in 0.140.0); names the `bodyDelta` stream when `streamResponse` is true. */
    requestId: z.string(),
    streamResponse: optional(z.boolean()),
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
