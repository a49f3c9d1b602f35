/**
 * `fs/*` handlers: each validated request goes to the fs layer, which runs it directly or, for a
 * restricted sandbox, in the bubblewrap-enforced helper.
 *
 * @module
 */
import { createFsHandlers } from "../fs/handlers.ts";
import type { FsOptions } from "../fs/types.ts";
import {
  FsCanonicalize,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWriteFile,
} from "../protocol/methods.ts";
import type { MethodTable } from "./method_table.ts";

/** Registers every `fs/*` method. */
export function registerFsMethods(methods: MethodTable, options: FsOptions = {}): void {
  const fs = createFsHandlers(options);
  methods
    .register(FsReadFile, (params) => fs["fs/readFile"](params))
    .register(FsWriteFile, (params) => fs["fs/writeFile"](params))
    .register(FsCreateDirectory, (params) => fs["fs/createDirectory"](params))
    .register(FsGetMetadata, (params) => fs["fs/getMetadata"](params))
    .register(FsReadDirectory, (params) => fs["fs/readDirectory"](params))
    .register(FsRemove, (params) => fs["fs/remove"](params))
    .register(FsCopy, (params) => fs["fs/copy"](params))
    .register(FsCanonicalize, (params) => fs["fs/canonicalize"](params));
}
