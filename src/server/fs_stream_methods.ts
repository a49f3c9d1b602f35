/**
 * The `fs/*` methods that keep per-connection state: file handles (`fs/open`, `fs/readBlock`,
 * `fs/writeBlock`, `fs/close`) and the missing-path watch (`fs/watchMissing` and its `fs/missingChanged`
 * notification). Both end with the connection.
 *
 * @module
 */
import { FileHandleTable, openFileForHandle, reopenSameFile } from "../fs/file_handles.ts";
import { MissingWatch } from "../fs/missing_watch.ts";
import type { FsHandlers } from "../fs/types.ts";
import {
  FsClose,
  FsMissingChanged,
  FsOpen,
  FsReadBlock,
  FsWatchMissing,
  FsWriteBlock,
} from "../protocol/methods.ts";
import type { FsReadBlockResult } from "../protocol/fs.ts";
import { parseAbsolutePath } from "../protocol/paths.ts";
import { sandboxPlan } from "../sandbox/policy.ts";
import { canonicalParent } from "../util/absolute_path.ts";
import { EncodedResult, type ServerConnection } from "./connection.ts";
import type { MethodTable } from "./method_table.ts";
import type { AuditedChange } from "./audit.ts";

interface ConnectionFsState {
  handles: FileHandleTable;
  watch: MissingWatch;
}

const states = new WeakMap<ServerConnection, ConnectionFsState>();

function stateOf(connection: ServerConnection): ConnectionFsState {
  let state = states.get(connection);
  if (!state) {
    const created: ConnectionFsState = {
      handles: new FileHandleTable(),
      watch: new MissingWatch({
        onChanged: (watchId) => connection.notifications.notify(FsMissingChanged.method, { watchId }),
      }),
    };
    states.set(connection, created);
    connection.closed.then(() => {
      created.handles.closeAll();
      created.watch.close();
    });
    state = created;
  }
  return state;
}

/**
 * Registers the handle and watch methods; `fs` runs sandboxed opens in the helper; an open for writing
 * is reported through `audited`.
 */
export function registerFsStreamMethods(methods: MethodTable, fs: FsHandlers, audited: AuditedChange): void {
  methods
    .register(FsOpen, async (params, ctx) => {
      const path = parseAbsolutePath(params.path);
      const mode = params.mode ?? "read";
      const direct = sandboxPlan(params.sandbox).kind === "direct";
      const open = stateOf(ctx.connection).handles.open(params.handleId, async () => {
        if (direct) return await openFileForHandle(path, mode);
        // The helper opens (and for `replace` creates or truncates) under the sandbox's mounts; the
        // handle outlives it, so the file is then opened here and checked to be the same one.
        const seen = await fs["fs/open"](params) as unknown as { dev: number; ino: number };
        return await reopenSameFile(canonicalParent(path), mode, seen);
      });
      await (mode === "read" ? open : audited(ctx, FsOpen.method, params.path, open));
      return { handleId: params.handleId };
    })
    .register(
      FsReadBlock,
      async (params, ctx) => {
        const { data, eof } = await stateOf(ctx.connection).handles.readBlock(
          params.handleId,
          params.offset,
          params.len,
        );
        // The chunk as bytes: base64 made piecewise as the transport writes it (see WriteQueue).
        return new EncodedResult<FsReadBlockResult>(['{"chunk":"', data, `","eof":${eof}}`]);
      },
    )
    .register(
      FsWriteBlock,
      (params, ctx) =>
        stateOf(ctx.connection).handles.writeBlock(params.handleId, params.offset, params.chunk),
    )
    .register(FsClose, (params, ctx) => stateOf(ctx.connection).handles.close(params.handleId))
    .register(FsWatchMissing, (params, ctx) => {
      const missing = params.missing.map(parseAbsolutePath);
      const present = params.present == null ? null : parseAbsolutePath(params.present);
      return { watching: stateOf(ctx.connection).watch.watch(params.watchId, missing, present) };
    });
}
