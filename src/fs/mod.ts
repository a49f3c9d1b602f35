/**
 * The `fs/*` operations on this process's filesystem, unsandboxed: {@link localFsHandlers} keyed by wire
 * name, and {@link runFsRequest} for one unchecked request (what the sandbox helper runs). The server's
 * `createFsHandlers` (src/server/fs_handlers.ts) decides per request whether to run them directly or in
 * the sandbox helper.
 *
 * @module
 */
export { localFsHandlers } from "./local.ts";
export { runFsRequest } from "./run_request.ts";
export type { FsHandler, FsHandlers, FsMethod } from "./types.ts";
export { FS_METHODS } from "./types.ts";
