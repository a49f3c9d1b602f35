/**
 * `exec-server cp SRC DEST`: copy one file between a local path and `ID:/path` in an environment (either
 * direction, or between two environments), in ranged pieces so big files never sit in memory whole.
 *
 * @module
 */
import { basename } from "../util/path.ts";
import { parseArgs } from "./parse_args.ts";
import type { EnvironmentManager } from "../client/environment_manager.ts";
import { loadCliEnvironments } from "./cli_environments.ts";
import type { ExecServerClient } from "../client/exec_server_client.ts";
import { reportError, selectEnvironment, writeAll } from "./cli_target.ts";
import { ProgressBar } from "./progress_bar.ts";
import { UsageError } from "./usage_error.ts";

/** `exec-server cp --help`. */
export const CP_USAGE = `usage: exec-server cp [--config PATH] [--piece-bytes N] SRC DEST

Copies one file. SRC and DEST are local paths or ID:/absolute/path in environment ID (as scp).
When DEST is an existing directory, the file keeps its name inside it. A progress bar is shown on
stderr when stderr is a terminal.

  --config PATH      environments file (default: $CODEX_HOME/environments.toml)
  --piece-bytes N    bytes per ranged read/write (default 4194304)
  -h, --help         show this help

exit status:
  0     copied
  1     a file operation failed (missing source, permission denied, ...)
  2     usage error
  255   an environment could not be reached, or the connection was lost`;

const DEFAULT_PIECE_BYTES = 4 * 1024 * 1024;

/** One side of a copy: a local path, or a path in an environment. */
export type CopyEndpoint = { kind: "local"; path: string } | { kind: "remote"; envId: string; path: string };

/** Parses `ID:/path` (an environment) or anything else (a local path). */
export function parseEndpoint(spec: string): CopyEndpoint {
  const match = /^([A-Za-z0-9_-]{1,64}):(.*)$/.exec(spec);
  if (!match) return { kind: "local", path: spec };
  if (!match[2].startsWith("/")) {
    throw new UsageError(`remote path in \`${spec}\` must be absolute`, CP_USAGE);
  }
  return { kind: "remote", envId: match[1], path: match[2] };
}

/** Reads pieces of a file. */
interface PieceSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Writes pieces of a file in order. */
interface PieceSink {
  write(offset: number, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Runs the `cp` command; returns the exit status. */
export async function runCpCommand(args: string[]): Promise<number> {
  let manager: EnvironmentManager | null = null;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          config: { type: "string" },
          "piece-bytes": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message, CP_USAGE);
    }
    if (parsed.values.help) {
      console.log(CP_USAGE);
      return 0;
    }
    if (parsed.positionals.length !== 2) throw new UsageError("expected SRC and DEST", CP_USAGE);
    const pieceBytes = Number(parsed.values["piece-bytes"] ?? DEFAULT_PIECE_BYTES);
    if (!Number.isSafeInteger(pieceBytes) || pieceBytes < 1) {
      throw new UsageError(`--piece-bytes expects a positive integer`, CP_USAGE);
    }
    const [source, destination] = parsed.positionals.map(parseEndpoint);
    if (source.kind === "remote" || destination.kind === "remote") {
      manager = await loadCliEnvironments(parsed.values.config);
    }
    const clientFor = async (endpoint: CopyEndpoint) =>
      endpoint.kind === "remote"
        ? await selectEnvironment(manager!, endpoint.envId, CP_USAGE).client()
        : null;
    const sourceClient = await clientFor(source);
    const destinationClient = await clientFor(destination);
    const reader = sourceClient
      ? await remoteSource(sourceClient, source.path)
      : await localSource(source.path);
    try {
      const target = await resolveDestination(destination.path, destinationClient, source.path);
      const writer = destinationClient ? remoteSink(destinationClient, target) : await localSink(target);
      try {
        await copyPieces(reader, writer, pieceBytes);
      } finally {
        await writer.close();
      }
    } finally {
      await reader.close();
    }
    return 0;
  } catch (error) {
    return reportError("cp", error);
  } finally {
    await manager?.close();
  }
}

async function copyPieces(source: PieceSource, sink: PieceSink, pieceBytes: number): Promise<void> {
  const progress = Deno.stderr.isTerminal() ? new ProgressBar(source.size) : null;
  let offset = 0;
  // A first (possibly empty) write creates or truncates the destination.
  do {
    const piece = await source.read(offset, Math.min(pieceBytes, source.size - offset));
    await sink.write(offset, piece);
    offset += piece.length;
    progress?.update(offset);
    if (piece.length === 0) break;
  } while (offset < source.size);
  progress?.finish();
}

async function resolveDestination(path: string, client: ExecServerClient | null, sourcePath: string) {
  const isDirectory = client
    ? await client.getMetadata(path).then((m) => m.isDirectory, () => false)
    : await Deno.stat(path).then((s) => s.isDirectory, () => false);
  return isDirectory ? `${path.replace(/\/+$/, "")}/${basename(sourcePath)}` : path;
}

async function remoteSource(client: ExecServerClient, path: string): Promise<PieceSource> {
  const metadata = await client.getMetadata(path);
  if (!metadata.isFile) throw new Error(`\`${path}\` is not a regular file`);
  return {
    size: metadata.size,
    read: (offset, length) => client.readFile(path, { offset, length }),
    close: () => Promise.resolve(),
  };
}

function remoteSink(client: ExecServerClient, path: string): PieceSink {
  return {
    // offset 0 truncates (a plain write); later pieces are written in place.
    write: (offset, bytes) => client.writeFile(path, bytes, offset === 0 ? {} : { offset }),
    close: () => Promise.resolve(),
  };
}

async function localSource(path: string): Promise<PieceSource> {
  const file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (!info.isFile) {
    file.close();
    throw new Error(`\`${path}\` is not a regular file`);
  }
  return {
    size: info.size,
    async read(offset, length) {
      const buffer = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = await file.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      return buffer.subarray(0, filled);
    },
    close: () => Promise.resolve(file.close()),
  };
}

async function localSink(path: string): Promise<PieceSink> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  return {
    write: (_offset, bytes) => writeAll(file, bytes),
    close: () => Promise.resolve(file.close()),
  };
}
