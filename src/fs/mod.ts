/**
 * The `fs/*` methods: {@link createFsHandlers} builds the handler table the server dispatches to.
 *
 * @module
 */
export { createFsHandlers } from "./handlers.ts";
export type { FsHandler, FsHandlers, FsMethod, FsOptions } from "./types.ts";
export { FS_METHODS } from "./types.ts";
export { parseAbsolutePath, toFileUri } from "./paths.ts";
export { toRpcError } from "./os_error.ts";
