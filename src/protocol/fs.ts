/**
 * `fs/*` methods. Paths are absolute native paths or `file:` URIs; results that carry paths use `file://`
 * URIs. Members marked "extension" are ours (ranged access for big files).
 *
 * @module
 */
import * as z from "zod/mini";
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
