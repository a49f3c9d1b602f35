/**
 * `fs/*` handlers: each validated request goes to the handler table of fs_handlers.ts, which runs it
 * directly or, for a restricted sandbox, in the bubblewrap-enforced helper; the methods with
 * per-connection state (handles, watches) are in fs_stream_methods.ts.
 *
 * @module
 */
import { createFsHandlers, type FsOptions } from "./fs_handlers.ts";
import {
  FsCanonicalize,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWalk,
  FsWriteFile,
} from "../protocol/methods.ts";
import { registerFsStreamMethods } from "./fs_stream_methods.ts";
import type { ReadFileParts } from "../fs/read_file.ts";
import type { FsReadFileResult } from "../protocol/fs.ts";
import { EncodedResult } from "./connection.ts";
import type { MethodTable } from "./method_table.ts";
import type { AuditedChange, AuditEvents } from "./audit.ts";

/** Registers every `fs/*` method; writes and removes are reported to `audit` once they settled. */
export function registerFsMethods(methods: MethodTable, audit: AuditEvents, options: FsOptions = {}): void {
  const fs = createFsHandlers(options);
  const write = auditedBy(audit, "fs.write");
  const remove = auditedBy(audit, "fs.remove");
  methods
    .register(FsReadFile, async (params) => encodeReadFileResult(await fs.readFileParts(params)))
    .register(
      FsWriteFile,
      (params, ctx) => write(ctx, FsWriteFile.method, params.path, fs["fs/writeFile"](params)),
    )
    .register(
      FsCreateDirectory,
      (params, ctx) => write(ctx, FsCreateDirectory.method, params.path, fs["fs/createDirectory"](params)),
    )
    .register(FsGetMetadata, (params) => fs["fs/getMetadata"](params))
    .register(FsReadDirectory, (params) => fs["fs/readDirectory"](params))
    .register(FsRemove, (params, ctx) => remove(ctx, FsRemove.method, params.path, fs["fs/remove"](params)))
    .register(
      FsCopy,
      (params, ctx) => write(ctx, FsCopy.method, params.destinationPath, fs["fs/copy"](params)),
    )
    .register(FsCanonicalize, (params) => fs["fs/canonicalize"](params))
    .register(FsWalk, (params) => fs["fs/walk"](params));
  registerFsStreamMethods(methods, fs, write);
}

function auditedBy(audit: AuditEvents, type: "fs.write" | "fs.remove"): AuditedChange {
  return async (ctx, method, path, work) => {
    let ok = false;
    try {
      const result = await work;
      ok = true;
      return result;
    } finally {
      audit.emit({ type, sessionId: ctx.connection.session?.id ?? "", method, path, ok });
    }
  };
}

/**
 * `{"dataBase64":"...", ...}` with the payload's pieces as their own parts: a 50 MB file is 67 MB of
 * base64 that a join and `JSON.stringify` would copy twice (~150 ms) only to find nothing to escape.
 */
function encodeReadFileResult({ parts, ...rest }: ReadFileParts): EncodedResult<FsReadFileResult> {
  const others = JSON.stringify(rest);
  return new EncodedResult(['{"dataBase64":"', ...parts, others === "{}" ? '"}' : `",${others.slice(1)}`]);
}
