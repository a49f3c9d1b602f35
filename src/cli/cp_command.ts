/**
 * `exec-server cp [-r] SRC... DEST`: copy files and (with `-r`) directory trees between local paths and
 * `ID:PATH` in environments (either direction, or between two environments), as scp does. The copying
 * itself is `client/file_copy.ts`.
 *
 * @module
 */
import { basename, normalize, resolve } from "../util/path.ts";
import { parseArgs } from "./parse_args.ts";
import type { EnvironmentManager } from "../client/environment_manager.ts";
import { loadCliEnvironments } from "./cli_environments.ts";
import {
  CopyError,
  copyPath,
  type CopySide,
  type FileProgress,
  joinPaths,
  LocalCopySide,
} from "../client/file_copy.ts";
import { RemoteCopySide } from "../client/remote_copy_side.ts";
import { EXIT_FAILURE, openTarget, reportError, selectEnvironment, type Target } from "./cli_target.ts";
import { ProgressBar } from "./progress_bar.ts";
import { UsageError } from "./usage_error.ts";

/** `exec-server cp --help`. */
export const CP_USAGE = `usage: exec-server cp [options] SRC... DEST

Copies files, as scp does. SRC and DEST are local paths or ID:PATH in environment ID; with --url,
:PATH is on that server. A remote PATH that is relative (or starts with ~/) is under the server's
home directory ($HOME). With several sources, DEST must be a directory. When DEST is an existing
directory, each source keeps its name inside it. Executable bits are kept. Each file is written under
a temporary name (.NAME.exec-server-cp.XXXX) in its directory and renamed into place when complete.
A progress bar (rate, ETA) is shown on stderr when stderr is a terminal.

  -r, --recursive    copy directories: their files, empty directories and symlinks (kept as links)
  --config PATH      environments file (default: $CODEX_HOME/environments.toml)
  --url URL          the server for :PATH endpoints (ws://HOST:PORT or wss://)
  --token-file F     with --url: send "Authorization: Bearer <first line of F>"
  --token-env V      with --url: send the bearer token held in environment variable V
  --ca-file F        with --url wss://: trust this PEM CA bundle
  --piece-bytes N    bytes per ranged read/write (default 4194304)
  -h, --help         show this help

exit status:
  0     copied
  1     a copy failed (missing source, permission denied, ...); the other sources are still copied
  2     usage error
  130   interrupted by Ctrl-C (the file being copied is not left under its name)
  255   an environment could not be reached, or the connection was lost`;

const DEFAULT_PIECE_BYTES = 4 * 1024 * 1024;
/** Exit status after Ctrl-C (128 + SIGINT), as scp. */
const EXIT_INTERRUPTED = 130;

/** One side of a copy: a local path, or a path in an environment (`envId` "" for `--url`'s `:PATH`). */
export type CopyEndpoint = { kind: "local"; path: string } | { kind: "remote"; envId: string; path: string };

/** Parses `ID:PATH`, `:PATH` (the `--url` server) or anything else (a local path), as scp does. */
export function parseEndpoint(spec: string): CopyEndpoint {
  const match = /^([A-Za-z0-9_-]{0,64}):(.*)$/s.exec(spec);
  if (!match) return { kind: "local", path: spec };
  return { kind: "remote", envId: match[1], path: match[2] };
}

/** A remote path against the server's home: `/abs` as is; `~`, `~/x`, `x` and `` under `home`. */
export function resolveRemotePath(path: string, home: string): string {
  if (path.startsWith("/")) return path;
  const relative = path === "~" ? "" : path.startsWith("~/") ? path.slice(2) : path;
  return relative === "" ? home : joinPaths(home, relative);
}

/** Runs the `cp` command; returns the exit status. */
export async function runCpCommand(args: string[]): Promise<number> {
  let manager: EnvironmentManager | null = null;
  let target: Target | null = null;
  let removeInterruptListener = () => {};
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          recursive: { type: "boolean", short: "r" },
          config: { type: "string" },
          url: { type: "string" },
          "token-file": { type: "string" },
          "token-env": { type: "string" },
          "ca-file": { type: "string" },
          "piece-bytes": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message, CP_USAGE);
    }
    const values = parsed.values;
    if (values.help) {
      console.log(CP_USAGE);
      return 0;
    }
    if (parsed.positionals.length < 2) throw new UsageError("expected SRC... DEST", CP_USAGE);
    const pieceBytes = Number(values["piece-bytes"] ?? DEFAULT_PIECE_BYTES);
    if (!Number.isSafeInteger(pieceBytes) || pieceBytes < 1) {
      throw new UsageError(`--piece-bytes expects a positive integer`, CP_USAGE);
    }
    if (values.url === undefined) {
      for (const flag of ["token-file", "token-env", "ca-file"] as const) {
        if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --url`, CP_USAGE);
      }
    }
    const endpoints = parsed.positionals.map(parseEndpoint);
    for (const endpoint of endpoints) {
      if (endpoint.kind === "remote" && endpoint.envId === "" && values.url === undefined) {
        throw new UsageError(
          `\`:${endpoint.path}\` names the --url server, but no --url was given`,
          CP_USAGE,
        );
      }
    }

    const local = new LocalCopySide();
    const remotes = new Map<string, RemoteCopySide>();
    const homes = new Map<string, string>();
    const sideFor = async (endpoint: CopyEndpoint): Promise<{ side: CopySide; path: string }> => {
      if (endpoint.kind === "local") return { side: local, path: endpoint.path };
      let side = remotes.get(endpoint.envId);
      if (side === undefined) {
        if (endpoint.envId === "") {
          target = await openTarget({
            url: values.url,
            tokenFile: values["token-file"],
            tokenEnv: values["token-env"],
            caFile: values["ca-file"],
          }, CP_USAGE);
          side = new RemoteCopySide(target.client, "");
        } else {
          manager ??= await loadCliEnvironments(values.config);
          const environment = selectEnvironment(manager, endpoint.envId, CP_USAGE);
          side = new RemoteCopySide(await environment.client(), endpoint.envId);
        }
        remotes.set(endpoint.envId, side);
      }
      let path = endpoint.path;
      if (!path.startsWith("/")) {
        let home = homes.get(endpoint.envId);
        if (home === undefined) homes.set(endpoint.envId, home = await side.homeDirectory());
        path = resolveRemotePath(path, home);
      }
      return { side, path: normalizeKeepingSlash(path) };
    };

    const destination = await sideFor(endpoints[endpoints.length - 1]);
    const sources = endpoints.slice(0, -1);
    const destinationInfo = await destination.side.info(destination.path);
    const intoDirectory = destinationInfo?.kind === "directory";
    const destinationText = parsed.positionals[parsed.positionals.length - 1];
    if (!intoDirectory && (sources.length > 1 || destination.path.endsWith("/"))) {
      const reason = destinationInfo === null ? "No such directory" : "Not a directory";
      throw new CopyError(destinationText, reason);
    }

    const onProgress = Deno.stderr.isTerminal() ? progressPrinter() : undefined;
    let failed = false;
    // Ctrl-C stops between pieces, so that the temporary files can be removed; a second one exits at once.
    const interrupt = new AbortController();
    const onInterrupt = () => {
      if (interrupt.signal.aborted) Deno.exit(EXIT_INTERRUPTED);
      interrupt.abort();
    };
    Deno.addSignalListener("SIGINT", onInterrupt);
    removeInterruptListener = () => Deno.removeSignalListener("SIGINT", onInterrupt);
    for (const [i, endpoint] of sources.entries()) {
      if (interrupt.signal.aborted) break;
      try {
        const source = await sideFor(endpoint);
        const name = basename(source.side === local ? resolve(source.path) : source.path);
        const to = intoDirectory ? joinPaths(destination.path.replace(/\/+$/, ""), name) : destination.path;
        await copyPath(source.side, source.path, destination.side, to, {
          recursive: values.recursive ?? false,
          pieceBytes,
          onProgress,
          signal: interrupt.signal,
          sourceText: parsed.positionals[i],
        });
      } catch (error) {
        if (!(error instanceof CopyError)) throw error;
        console.error(`exec-server cp: ${error.message}`);
        failed = true;
      }
    }
    if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
    return failed ? EXIT_FAILURE : 0;
  } catch (error) {
    return reportError("cp", error);
  } finally {
    removeInterruptListener();
    await (target as Target | null)?.close();
    await (manager as EnvironmentManager | null)?.close();
  }
}

/** `normalize`, but a trailing slash (a directory is meant) is kept. */
function normalizeKeepingSlash(path: string): string {
  const normal = normalize(path);
  return path.endsWith("/") && !normal.endsWith("/") ? `${normal}/` : normal;
}

/** A progress bar per file. */
function progressPrinter(): (progress: FileProgress, phase: "start" | "piece" | "end") => void {
  let bar: ProgressBar | null = null;
  return (progress, phase) => {
    if (phase === "start") bar = new ProgressBar(basename(progress.name), progress.total);
    else if (phase === "piece") bar?.update(progress.done);
    else bar?.finish();
  };
}
