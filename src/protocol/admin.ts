/**
 * The admin surface's JSON shapes (ours only; HTTP under `/admin/`, for the operator rather than the
 * agent): the session and process listing, a page of retained output, and the answers to terminate.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { lazySchema } from "./schema.ts";
import { OutputStreamSchema } from "./process.ts";

/** One process as `GET /admin/sessions` lists it. Times are Unix milliseconds. */
export const AdminProcessSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    pid: z.number(),
    argv: z.array(z.string()),
    cwd: z.string(),
    tty: z.boolean(),
    sandboxed: z.boolean(),
    /** `running`, `exited` (streams may still be open) or `closed`. */
    state: z.enum(["running", "exited", "closed"]),
    exitCode: z.nullable(z.number()),
    startedAt: z.number(),
    endedAt: z.nullable(z.number()),
    outputBytes: z.number(),
    /** A tty process's terminal size (as started, then as last resized); null for pipes. */
    size: z.optional(z.nullable(z.object({ rows: z.number(), cols: z.number() }))),
  })
);
export type AdminProcess = z.infer<typeof AdminProcessSchema>;

/** One session: who holds it (the last client to initialize or resume it) and its processes. */
export const AdminSessionSchema = lazySchema(() =>
  z.object({
    sessionId: z.string(),
    clientName: z.nullable(z.string()),
    peer: z.nullable(z.string()),
    attached: z.boolean(),
    createdAt: z.number(),
    ageMs: z.number(),
    processes: z.array(AdminProcessSchema),
  })
);
export type AdminSession = z.infer<typeof AdminSessionSchema>;

/** `GET /admin/sessions`. */
export const AdminSessionsSchema = lazySchema(() => z.object({ sessions: z.array(AdminSessionSchema) }));
export type AdminSessions = z.infer<typeof AdminSessionsSchema>;

/**
 * `GET /admin/processes/:session/:id/output?afterSeq=N&waitMs=M`: retained chunks after `afterSeq`
 * (base64, as `process/read`), read without acknowledging anything; `afterSeq` is the cursor for the next
 * page. A follower stops once `closed` is true and `more` is false.
 */
export const AdminOutputSchema = lazySchema(() =>
  z.object({
    chunks: z.array(z.object({ seq: z.number(), stream: OutputStreamSchema, chunk: z.string() })),
    afterSeq: z.number(),
    /** More retained output follows (the page was cut at `maxBytes`). */
    more: z.boolean(),
    droppedBytes: z.number(),
    exited: z.boolean(),
    exitCode: z.nullable(z.number()),
    closed: z.boolean(),
  })
);
export type AdminOutput = z.infer<typeof AdminOutputSchema>;

/** `POST /admin/processes/:session/:id/terminate` and `POST /admin/sessions/:id/terminate`. */
export const AdminTerminateSchema = lazySchema(() =>
  z.object({ sessionId: z.string(), processId: z.nullable(z.string()), running: z.number() })
);
export type AdminTerminate = z.infer<typeof AdminTerminateSchema>;
