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

/** Registers every `fs/*` method. */
export function registerFsMethods(methods: MethodTable, options: FsOptions = {}): void {
  const fs = createFsHandlers(options);
  methods
    .register(FsReadFile, async (params) => encodeReadFileResult(await fs.readFileParts(params)))
    .register(FsWriteFile, (params) => fs["fs/writeFile"](params))
    .register(FsCreateDirectory, (params) => fs["fs/createDirectory"](params))
    .register(FsGetMetadata, (params) => fs["fs/getMetadata"](params))
    .register(FsReadDirectory, (params) => fs["fs/readDirectory"](params))
    .register(FsRemove, (params) => fs["fs/remove"](params))
    .register(FsCopy, (params) => fs["fs/copy"](params))
    .register(FsCanonicalize, (params) => fs["fs/canonicalize"](params))
    .register(FsWalk, (params) => fs["fs/walk"](params));
  registerFsStreamMethods(methods, fs);
}

/**
 * `{"dataBase64":"...", ...}` with the payload's pieces as their own parts: a 50 MB file is 67 MB of
 * base64 that a join and `JSON.stringify` would copy twice (~150 ms) only to find nothing to escape.
 */
function encodeReadFileResult({ parts, ...rest }: ReadFileParts): EncodedResult<FsReadFileResult> {
  const others = JSON.stringify(rest);
  return new EncodedResult(['{"dataBase64":"', ...parts, others === "{}" ? '"}' : `",${others.slice(1)}`]);
}
