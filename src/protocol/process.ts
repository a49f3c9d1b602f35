/**
 * `process/*` methods and notifications. Field names, optionality and defaults follow Codex 0.140.0;
 * members marked "extension" are ours and ignored by Codex clients.
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { EnvPolicySchema } from "./env_policy.ts";
import { SandboxContextSchema } from "./sandbox.ts";
import { i32, lazySchema, optional, u64 } from "./schema.ts";

/** The output stream a chunk came from. */
export const OutputStreamSchema = lazySchema(() => z.enum(["stdout", "stderr", "pty"]));
export type OutputStream = z.infer<typeof OutputStreamSchema>;

/**
 * When retained output may be evicted once the retention bound is reached (extension).
 * `client`: only once the client acknowledged it, with `process/ack` or a `process/read` cursor. Nothing
 * written but unconfirmed is lost on a dropped connection, and a slow consumer slows the producer.
 * `notification`: once a `process/output` notification carrying it was written to the socket (or acked).
 * `read`: only once a `process/read` cursor (`afterSeq`) or a `process/ack` has passed it.
 * `auto` (default): nothing is evictable until the client shows how it reads: the first `process/read`
 * makes it `read`; a process that fills its bound with no `process/read` within 250 ms of its start (at
 * once, if an earlier process of the session was decided so) becomes `notification`.
 */
export const AckModeSchema = lazySchema(() => z.enum(["auto", "client", "notification", "read"]));
export type AckMode = z.infer<typeof AckModeSchema>;

/** A UUID as the `uuid` crate parses it: hyphenated or simple, optionally `urn:uuid:` or braces. */
function isUuid(text: string): boolean {
  const bare = text.replace(/^urn:uuid:/i, "").replace(/^\{(.*)\}$/, "$1");
  return /^[0-9a-fA-F]{32}$/.test(bare) ||
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(bare);
}

/** Codex 0.171: which turn and tool call started a process (for logs); `threadId` must be a UUID. */
export const ProcessMetadataSchema = lazySchema(() =>
  z.object({
    threadId: optional(z.string().check(z.refine(isUuid, { message: "invalid character: expected a UUID" }))),
    toolCallId: optional(z.string()),
  })
);
export type ProcessMetadata = z.infer<typeof ProcessMetadataSchema>;

/** How a start was sandboxed (Codex's names): `linuxSeccomp` whenever a sandbox context was given. */
export const SandboxTypeSchema = lazySchema(() => z.string());

export const ProcessStartParamsSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    argv: z.array(z.string()),
    /** Absolute native path or `file://` URI (Codex 0.140 sends paths, 0.169 URIs). */
    cwd: z.string(),
    env: z.record(z.string(), z.string()),
    tty: z.boolean(),
    pipeStdin: z.optional(z.boolean()),
    arg0: optional(z.string()),
    envPolicy: optional(EnvPolicySchema),
    /** Enforced with bubblewrap when restricted (0.140.0 ignores it). */
    sandbox: optional(SandboxContextSchema),
    /** Extension: initial PTY size. */
    rows: optional(z.int().check(z.gte(1), z.lte(65535))),
    /** Extension: initial PTY size. */
    cols: optional(z.int().check(z.gte(1), z.lte(65535))),
    /** Extension: see {@link AckModeSchema}. */
    ackMode: optional(AckModeSchema),
    /** Codex 0.171: validated, then only logged. */
    metadata: optional(ProcessMetadataSchema),
    /**
     * Codex 0.171's managed network proxy: not implemented here (`networkProxyLaunch` is not advertised),
     * so a client does not ask for it; the fields are validated and otherwise ignored.
     */
    enforceManagedNetwork: optional(z.boolean()),
    managedNetwork: optional(z.unknown()),
    networkProxy: optional(z.unknown()),
    shellSnapshot: optional(z.unknown()),
  })
);
export type ProcessStartParams = z.infer<typeof ProcessStartParamsSchema>;
export const ProcessStartResultSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    /** Codex 0.169+: `none`, or `linuxSeccomp` when the start carried a sandbox context. */
    sandboxType: z.optional(SandboxTypeSchema),
  })
);
export type ProcessStartResult = z.infer<typeof ProcessStartResultSchema>;

export const ProcessReadParamsSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    afterSeq: optional(u64),
    maxBytes: optional(u64),
    waitMs: optional(u64),
  })
);
export type ProcessReadParams = z.infer<typeof ProcessReadParamsSchema>;

/** One retained output chunk (base64 bytes). */
export const OutputChunkSchema = lazySchema(() =>
  z.object({ seq: u64, stream: OutputStreamSchema, chunk: z.string() })
);
export type OutputChunk = z.infer<typeof OutputChunkSchema>;

export const ProcessReadResultSchema = lazySchema(() =>
  z.object({
    chunks: z.array(OutputChunkSchema),
    nextSeq: u64,
    exited: z.boolean(),
    exitCode: z.nullable(i32),
    closed: z.boolean(),
    failure: z.nullable(z.string()),
    /** Extension: bytes with seq > afterSeq that were evicted and are not in `chunks` (0 when nothing was lost). */
    droppedBytes: z.optional(u64),
    /** Codex 0.169+: the sandbox (by its failure's words) refused something the process tried. */
    sandboxDenied: z.optional(z.boolean()),
  })
);
export type ProcessReadResult = z.infer<typeof ProcessReadResultSchema>;

export const ProcessWriteParamsSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    chunk: z.string(),
    /**
     * Codex 0.169+: a per-process deduplication key. A `writeId` seen before on this process is answered
     * `accepted` and not written again, so a client may retry after a dropped connection. Optional here
     * (0.140 clients send none); when given it must be a non-empty string.
     */
    writeId: z.optional(z.string().check(z.minLength(1, "writeId must not be empty"))),
  })
);
export type ProcessWriteParams = z.infer<typeof ProcessWriteParamsSchema>;
export const WriteStatusSchema = lazySchema(() =>
  z.enum(["accepted", "unknownProcess", "stdinClosed", "starting"])
);
export type WriteStatus = z.infer<typeof WriteStatusSchema>;
export const ProcessWriteResultSchema = lazySchema(() => z.object({ status: WriteStatusSchema }));
export type ProcessWriteResult = z.infer<typeof ProcessWriteResultSchema>;

/** Signal names: Codex's `interrupt` plus our extensions. */
export const SIGNAL_NAMES = {
  interrupt: "SIGINT",
  terminate: "SIGTERM",
  kill: "SIGKILL",
  hangup: "SIGHUP",
  quit: "SIGQUIT",
  user1: "SIGUSR1",
  user2: "SIGUSR2",
  stop: "SIGSTOP",
  continue: "SIGCONT",
} as const satisfies Record<string, Deno.Signal>;
export type SignalName = keyof typeof SIGNAL_NAMES;
export const SignalNameSchema = lazySchema(() =>
  z.enum(Object.keys(SIGNAL_NAMES) as [SignalName, ...SignalName[]])
);

export const ProcessSignalParamsSchema = lazySchema(() =>
  z.object({ processId: z.string(), signal: SignalNameSchema })
);
export type ProcessSignalParams = z.infer<typeof ProcessSignalParamsSchema>;
export const EmptyResultSchema = lazySchema(() => z.object({}));
export type EmptyResult = z.infer<typeof EmptyResultSchema>;

export const ProcessTerminateParamsSchema = lazySchema(() => z.object({ processId: z.string() }));
export type ProcessTerminateParams = z.infer<typeof ProcessTerminateParamsSchema>;
export const ProcessTerminateResultSchema = lazySchema(() => z.object({ running: z.boolean() }));
export type ProcessTerminateResult = z.infer<typeof ProcessTerminateResultSchema>;

/** Extension: resize a PTY process's terminal (the child gets SIGWINCH). */
export const ProcessResizeParamsSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    rows: z.int().check(z.gte(1), z.lte(65535)),
    cols: z.int().check(z.gte(1), z.lte(65535)),
  })
);
export type ProcessResizeParams = z.infer<typeof ProcessResizeParamsSchema>;

/** Extension: close a process's stdin (EOF for pipes; the terminal EOF character for a PTY). */
export const ProcessCloseStdinParamsSchema = lazySchema(() => z.object({ processId: z.string() }));
export type ProcessCloseStdinParams = z.infer<typeof ProcessCloseStdinParamsSchema>;
export const ProcessCloseStdinResultSchema = lazySchema(() => z.object({ status: WriteStatusSchema }));
export type ProcessCloseStdinResult = z.infer<typeof ProcessCloseStdinResultSchema>;

/**
 * Extension: the client has received (and consumed) every event up to `seq`, so the server may evict it.
 * Drives retention in `ackMode: "client"`; harmless in the other modes.
 */
export const ProcessAckParamsSchema = lazySchema(() => z.object({ processId: z.string(), seq: u64 }));
export type ProcessAckParams = z.infer<typeof ProcessAckParamsSchema>;

/** `process/output` notification. */
export const ProcessOutputNotificationSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    seq: u64,
    stream: OutputStreamSchema,
    chunk: z.string(),
  })
);
export type ProcessOutputNotification = z.infer<typeof ProcessOutputNotificationSchema>;

/** `process/exited` notification. */
export const ProcessExitedNotificationSchema = lazySchema(() =>
  z.object({
    processId: z.string(),
    seq: u64,
    exitCode: i32,
    /** Codex 0.169+ (which drops an exited notification without it): see `ProcessReadResult`. */
    sandboxDenied: z.optional(z.boolean()),
  })
);
export type ProcessExitedNotification = z.infer<typeof ProcessExitedNotificationSchema>;

/** `process/closed` notification: always the last event of a process. */
export const ProcessClosedNotificationSchema = lazySchema(() =>
  z.object({ processId: z.string(), seq: u64 })
);
export type ProcessClosedNotification = z.infer<typeof ProcessClosedNotificationSchema>;
