/**
 * The shape of the `fs/*` handler table.
 *
 * @module
 */
import type {
  FsCanonicalize,
  FsCopy,
  FsCreateDirectory,
  FsGetMetadata,
  FsOpen,
  FsReadDirectory,
  FsReadFile,
  FsRemove,
  FsWalk,
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
  "fs/walk": typeof FsWalk;
  /** Run directly it only probes (see `probeOpen`): the handle itself is the server's. */
  "fs/open": typeof FsOpen;
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
  "fs/walk",
  "fs/open",
];

/** The handler for one `fs/*` method: validated params in, result out, `RpcError` thrown on failure. */
export type FsHandler<M extends FsMethod> = (
  params: ParamsOf<FsDescriptors[M]>,
) => Promise<ResultOf<FsDescriptors[M]>>;

/** Handlers for every `fs/*` method, keyed by wire name. */
export type FsHandlers = { [M in FsMethod]: FsHandler<M> };
