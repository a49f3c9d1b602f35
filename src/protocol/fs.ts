/**
 * `fs/*` methods. Paths are absolute native paths or `file:` URIs; results that carry paths use `file://`
 * URIs. Members marked "extension" are ours (ranged access for big files).
 *
 * @module
 */
import * as z from "../util/zod.ts";
import { SandboxContextSchema } from "./sandbox.ts";
import { lazySchema, optional, u64 } from "./schema.ts";

const sandbox = lazySchema(() => optional(SandboxContextSchema));

export const FsReadFileParamsSchema = lazySchema(() =>
  z.object({
    path: z.string(),
    sandbox,
    /** Extension: first byte to read. */
    offset: optional(u64),
    /** Extension: at most this many bytes. */
    length: optional(u64),
  })
);
export type FsReadFileParams = z.infer<typeof FsReadFileParamsSchema>;
export const FsReadFileResultSchema = lazySchema(() =>
  z.object({
    dataBase64: z.string(),
    /** Extension (ranged reads only): the file's size, so a client knows when it is done. */
    size: z.optional(u64),
    /** Extension (ranged reads only): true when the read reached the end of the file. */
    eof: z.optional(z.boolean()),
  })
);
export type FsReadFileResult = z.infer<typeof FsReadFileResultSchema>;

export const FsWriteFileParamsSchema = lazySchema(() =>
  z.object({
    path: z.string(),
    dataBase64: z.string(),
    sandbox,
    /** Extension: write at this byte offset in place (no truncation, not atomic). */
    offset: optional(u64),
    /** Extension: append to the file (not atomic). */
    append: optional(z.boolean()),
  })
);
export type FsWriteFileParams = z.infer<typeof FsWriteFileParamsSchema>;

export const FsCreateDirectoryParamsSchema = lazySchema(() =>
  z.object({
    path: z.string(),
    recursive: optional(z.boolean()),
    sandbox,
  })
);
export type FsCreateDirectoryParams = z.infer<typeof FsCreateDirectoryParamsSchema>;

export const FsPathParamsSchema = lazySchema(() => z.object({ path: z.string(), sandbox }));
export type FsPathParams = z.infer<typeof FsPathParamsSchema>;

export const FsMetadataSchema = lazySchema(() =>
  z.object({
    isDirectory: z.boolean(),
    isFile: z.boolean(),
    isSymlink: z.boolean(),
    size: u64,
    createdAtMs: z.int(),
    modifiedAtMs: z.int(),
  })
);
export type FsMetadata = z.infer<typeof FsMetadataSchema>;

export const FsCanonicalizeResultSchema = lazySchema(() => z.object({ path: z.string() }));
export type FsCanonicalizeResult = z.infer<typeof FsCanonicalizeResultSchema>;

export const FsDirectoryEntrySchema = lazySchema(() =>
  z.object({
    fileName: z.string(),
    isDirectory: z.boolean(),
    isFile: z.boolean(),
  })
);
export type FsDirectoryEntry = z.infer<typeof FsDirectoryEntrySchema>;
export const FsReadDirectoryResultSchema = lazySchema(() =>
  z.object({ entries: z.array(FsDirectoryEntrySchema) })
);
export type FsReadDirectoryResult = z.infer<typeof FsReadDirectoryResultSchema>;

export const FsRemoveParamsSchema = lazySchema(() =>
  z.object({
    path: z.string(),
    recursive: optional(z.boolean()),
    force: optional(z.boolean()),
    sandbox,
  })
);
export type FsRemoveParams = z.infer<typeof FsRemoveParamsSchema>;

export const FsCopyParamsSchema = lazySchema(() =>
  z.object({
    sourcePath: z.string(),
    destinationPath: z.string(),
    recursive: z.boolean(),
    sandbox,
  })
);
export type FsCopyParams = z.infer<typeof FsCopyParamsSchema>;

/**
 * A u64 as serde reads it from JSON: any non-negative integer below 2^64 (past 2^53 a JSON number is only
 * approximate, but the reference still accepts it: an offset of 2^53 reads as end of file).
 */
const u64Wide = lazySchema(() =>
  z.number().check(
    z.refine((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 64, { message: "invalid number" }),
  )
);

/** `fs/open` `mode`: `read` (the default) or `replace` (create or truncate at open, then write blocks). */
export const FsOpenModeSchema = lazySchema(() => z.enum(["read", "replace"]));
export type FsOpenMode = z.infer<typeof FsOpenModeSchema>;

export const FsOpenParamsSchema = lazySchema(() =>
  z.object({
    /** Chosen by the client: at most 32 bytes, unique among this connection's open handles. */
    handleId: z.string(),
    path: z.string(),
    sandbox,
    /** Absent means `read`; `null` is refused, as by the reference. */
    mode: z.optional(FsOpenModeSchema),
  })
);
export type FsOpenParams = z.infer<typeof FsOpenParamsSchema>;
export const FsOpenResultSchema = lazySchema(() => z.object({ handleId: z.string() }));
export type FsOpenResult = z.infer<typeof FsOpenResultSchema>;

export const FsReadBlockParamsSchema = lazySchema(() =>
  z.object({ handleId: z.string(), offset: u64Wide, len: u64Wide })
);
export type FsReadBlockParams = z.infer<typeof FsReadBlockParamsSchema>;
export const FsReadBlockResultSchema = lazySchema(() =>
  z.object({
    chunk: z.string(),
    /** True when fewer than `len` bytes were left (reading exactly up to the end is not yet EOF). */
    eof: z.boolean(),
  })
);
export type FsReadBlockResult = z.infer<typeof FsReadBlockResultSchema>;

export const FsWriteBlockParamsSchema = lazySchema(() =>
  z.object({ handleId: z.string(), offset: u64Wide, chunk: z.string() })
);
export type FsWriteBlockParams = z.infer<typeof FsWriteBlockParamsSchema>;

export const FsCloseParamsSchema = lazySchema(() => z.object({ handleId: z.string() }));
export type FsCloseParams = z.infer<typeof FsCloseParamsSchema>;

export const FsWalkOptionsSchema = lazySchema(() =>
  z.object({
    /** Directory levels below the root to descend (0: the root's entries only); at most 64. */
    maxDepth: u64Wide,
    /** Directories read, the root included; 1..10000. */
    maxDirectories: u64Wide,
    /** Directory entries examined (symlinks and special files count, though never listed); 1..50000. */
    maxEntries: u64Wide,
    followDirectorySymlinks: z.boolean(),
    /** List hidden directories but do not descend into them. */
    pruneHiddenDirectories: z.optional(z.boolean()),
  })
);
export type FsWalkOptions = z.infer<typeof FsWalkOptionsSchema>;
export const FsWalkParamsSchema = lazySchema(() =>
  z.object({ path: z.string(), options: FsWalkOptionsSchema, sandbox })
);
export type FsWalkParams = z.infer<typeof FsWalkParamsSchema>;
export const FsWalkResultSchema = lazySchema(() =>
  z.object({
    entries: z.array(z.object({ path: z.string(), kind: z.enum(["file", "directory"]) })),
    errors: z.array(z.object({ path: z.string(), message: z.string() })),
    truncated: z.boolean(),
  })
);
export type FsWalkResult = z.infer<typeof FsWalkResultSchema>;

export const FsWatchMissingParamsSchema = lazySchema(() =>
  z.object({
    /** Must exceed every earlier id on this connection, or the request is ignored (`watching: false`). */
    watchId: u64Wide,
    /** Paths the client found missing (at most 64). */
    missing: z.array(z.string()),
    /** A path the client found present; its removal also fires. */
    present: optional(z.string()),
  })
);
export type FsWatchMissingParams = z.infer<typeof FsWatchMissingParamsSchema>;
export const FsWatchMissingResultSchema = lazySchema(() => z.object({ watching: z.boolean() }));
export type FsWatchMissingResult = z.infer<typeof FsWatchMissingResultSchema>;
export const FsMissingChangedNotificationSchema = lazySchema(() => z.object({ watchId: u64Wide }));
export type FsMissingChangedNotification = z.infer<typeof FsMissingChangedNotificationSchema>;
