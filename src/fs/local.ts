/**
 * The `fs/*` handlers that act directly on this process's filesystem, with no sandbox. The sandbox
 * helper runs these same handlers inside bubblewrap (through run_request.ts).
 *
 * @module
 */
import { copy } from "./copy.ts";
import { createDirectory, readDirectory } from "./directories.ts";
import { canonicalize, getMetadata } from "./metadata.ts";
import { readFile } from "./read_file.ts";
import { remove } from "./remove.ts";
import type { FsHandlers } from "./types.ts";
import { writeFile } from "./write_file.ts";
import { walk } from "./walk.ts";
import { probeOpen } from "./file_handles.ts";

/** Direct (unsandboxed) handlers for every `fs/*` method. */
export const localFsHandlers: FsHandlers = {
  "fs/readFile": readFile,
  "fs/writeFile": writeFile,
  "fs/createDirectory": createDirectory,
  "fs/getMetadata": getMetadata,
  "fs/readDirectory": readDirectory,
  "fs/remove": remove,
  "fs/copy": copy,
  "fs/canonicalize": canonicalize,
  "fs/walk": walk,
  "fs/open": probeOpen,
};
