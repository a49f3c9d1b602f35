/**
 * The shape of the `fs/*` handler table and the options that build it.
 *
 * @module
 */
import type {
  FsCanonicalize,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWriteFile,
  ParamsOf,
  ResultOf,
} from "../protocol/methods.ts";

/** Each `fs/*` wire method name and its descriptor. */
export interface FsDescriptors {
  "fs/readFile": typeof FsReadFile;
  "fs/writeFile": typeof FsWriteFile;
  "fs/createDirectory": typeof FsCreateDirectory;
  "fs/getMetadata": typeof FsGetMetadata;
  "fs/readDirectory": typeof FsReadDirectory;
  "fs/remove": typeof FsRemove;
  "fs/copy": typeof FsCopy;
  "fs/canonicalize": typeof FsCanonicalize;
}

/** An `fs/*` wire method name. */
export type FsMethod = keyof FsDescriptors;

/** Every `fs/*` wire method name. */
export const FS_METHODS: readonly FsMethod[] = [
  "fs/readFile",
  "fs/writeFile",
  "fs/createDirectory",
  "fs/getMetadata",
  "fs/readDirectory",
  "fs/remove",
  "fs/copy",
  "fs/canonicalize",
];

/** The handler for one `fs/*` method: validated params in, result out, `RpcError` thrown on failure. */
export type FsHandler<M extends FsMethod> = (
  params: ParamsOf<FsDescriptors[M]>,
) => Promise<ResultOf<FsDescriptors[M]>>;

/** Handlers for every `fs/*` method, keyed by wire name. */
export type FsHandlers = { [M in FsMethod]: FsHandler<M> };

/** Options for {@link createFsHandlers}. */
export interface FsOptions {
  /**
   * The bubblewrap binary for restricted sandbox requests: an absolute path, or a name looked up on
   * `PATH`. Default `"bwrap"`. When it cannot be found, restricted requests are refused (never run
   * unsandboxed).
   */
  bwrap?: string;
  /**
   * The argv prefix that re-runs this program (default `selfCommand()`); the sandbox helper runs as
   * `<prefix> __sandbox-helper`.
   */
  helperCommand?: () => string[];
}
