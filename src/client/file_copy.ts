/**
 * Copying files and directory trees between two sides, each this machine or an exec-server, the way a
 * long-time scp user expects: `recursive` copies trees with their empty directories, executable bits and
 * symlinks (kept as links); file data moves in ranged pieces into a temporary name in the destination
 * directory, renamed over the real name only once complete.
 *
 * This machine is {@link LocalCopySide}; an exec-server is `RemoteCopySide` (`remote_copy_side.ts`).
 *
 * @module
 */
import { ExecServerClientError } from "./client_error.ts";

/** What a path is, following symlinks. */
export interface PathInfo {
  kind: "file" | "directory" | "other";
  size: number;
}

/** One entry below a copied directory, in pre-order (a directory before what it holds). */
export interface TreeEntry {
  kind: "file" | "directory" | "symlink" | "other";
  /** `/`-separated, relative to the listed directory. */
  relativePath: string;
  /** Files: any execute bit set. */
  executable: boolean;
  /** Symlinks: the link's text, as stored. */
  linkTarget: string;
}

/** Puts a finished temporary file in place, or creates a symlink. */
export type FinishStep =
  | { kind: "file"; temporaryPath: string; path: string; executable: boolean }
  | { kind: "symlink"; linkTarget: string; path: string };

/** A place files live: this machine or one exec-server. Paths are absolute. */
export interface CopySide {
  /** How a path on this side is written in messages (`box:/p`, or the local path). */
  label(path: string): string;
  /** The path's type and size following symlinks, or `null` when it does not exist. */
  info(path: string): Promise<PathInfo | null>;
  /** Whether a regular file has an execute bit. */
  isExecutable(path: string): Promise<boolean>;
  /** Everything below a directory, not following symlinks. */
  listTree(path: string): Promise<TreeEntry[]>;
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Creates one directory (its parent must exist); an existing directory is fine. */
  createDirectory(path: string): Promise<void>;
  /** Writes a piece of a new file; offset 0 creates (or truncates) it. */
  writePiece(path: string, offset: number, bytes: Uint8Array): Promise<void>;
  /** Performs the steps in order. */
  finish(steps: FinishStep[]): Promise<void>;
  /** Removes files, ignoring failures (leftover temporary files after an error). */
  discard(paths: string[]): Promise<void>;
}

/** A failure about one path, in words (no JSON-RPC codes). */
export class CopyError extends Error {
  override name = "CopyError";
  /** `subject: reason`, unless `message` is given. */
  constructor(readonly subject: string, readonly reason: string, message = `${subject}: ${reason}`) {
    super(message);
  }
}

/** Rethrows `error` as a {@link CopyError} naming `label`; connection failures pass through unchanged. */
export function pathError(label: string, error: unknown): never {
  if (error instanceof ExecServerClientError && error.kind !== "server") throw error;
  if (error instanceof CopyError) throw error;
  throw new CopyError(label, plainMessage(error));
}

/** The reason without `(os error N)`, the server's request prefix or Deno's `: stat '/p'` suffix. */
export function plainMessage(error: unknown): string {
  let message = error instanceof ExecServerClientError && error.serverMessage !== undefined
    ? error.serverMessage
    : error instanceof Error
    ? error.message
    : String(error);
  message = message.replace(/ \(os error \d+\).*$/s, "");
  return message;
}

/** `dir/.name.exec-server-cp.<random>`: where a file is written before it is renamed to `path`. */
export function temporaryPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  // A long name is shortened so that the temporary name stays within NAME_MAX (255 bytes).
  let name = path.slice(slash + 1);
  while (new TextEncoder().encode(name).length > 200) name = name.slice(0, -1);
  return `${path.slice(0, slash + 1)}.${name}.exec-server-cp.${suffix}`;
}

/** Joins an absolute directory and a relative path. */
export function joinPaths(directory: string, relative: string): string {
  if (relative === "") return directory;
  return directory.endsWith("/") ? `${directory}${relative}` : `${directory}/${relative}`;
}

// ----- this machine -----

/** This machine's files, through Deno's file APIs. */
export class LocalCopySide implements CopySide {
  label(path: string): string {
    return path;
  }

  async info(path: string): Promise<PathInfo | null> {
    try {
      const info = await Deno.stat(path);
      return { kind: info.isFile ? "file" : info.isDirectory ? "directory" : "other", size: info.size };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      pathError(path, error);
    }
  }

  async isExecutable(path: string): Promise<boolean> {
    const info = await Deno.stat(path).catch((error) => pathError(path, error));
    return ((info.mode ?? 0) & 0o111) !== 0;
  }

  async listTree(root: string): Promise<TreeEntry[]> {
    const entries: TreeEntry[] = [];
    const visit = async (relative: string) => {
      const directory = joinPaths(root, relative);
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(directory)) names.push(entry.name);
      } catch (error) {
        pathError(directory, error);
      }
      names.sort();
      for (const name of names) {
        const relativePath = relative === "" ? name : `${relative}/${name}`;
        const path = joinPaths(root, relativePath);
        const info = await Deno.lstat(path).catch((error) => pathError(path, error));
        if (info.isSymlink) {
          const linkTarget = await Deno.readLink(path).catch((error) => pathError(path, error));
          entries.push({ kind: "symlink", relativePath, executable: false, linkTarget });
        } else if (info.isDirectory) {
          entries.push({ kind: "directory", relativePath, executable: false, linkTarget: "" });
          await visit(relativePath);
        } else {
          entries.push({
            kind: info.isFile ? "file" : "other",
            relativePath,
            executable: ((info.mode ?? 0) & 0o111) !== 0,
            linkTarget: "",
          });
        }
      }
    };
    await visit("");
    return entries;
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    try {
      using file = await Deno.open(path, { read: true });
      await file.seek(offset, Deno.SeekMode.Start);
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const n = await file.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      return buffer.subarray(0, filled);
    } catch (error) {
      pathError(path, error);
    }
  }

  async createDirectory(path: string): Promise<void> {
    try {
      await Deno.mkdir(path);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists && (await Deno.stat(path)).isDirectory) return;
      pathError(path, error);
    }
  }

  async writePiece(path: string, offset: number, bytes: Uint8Array): Promise<void> {
    try {
      using file = await Deno.open(
        path,
        offset === 0 ? { write: true, create: true, truncate: true } : {
          write: true,
        },
      );
      if (offset !== 0) await file.seek(offset, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    } catch (error) {
      pathError(path, error);
    }
  }

  async finish(steps: FinishStep[]): Promise<void> {
    for (const step of steps) {
      try {
        if (step.kind === "file") {
          if (step.executable) {
            // As `chmod +x`: execute bits where the umask allows them.
            const umask = Deno.umask();
            const mode = (await Deno.stat(step.temporaryPath)).mode! & 0o7777;
            await Deno.chmod(step.temporaryPath, mode | (0o111 & ~umask));
          }
          await Deno.rename(step.temporaryPath, step.path);
        } else {
          const existing = await Deno.lstat(step.path).catch(() => null);
          if (existing?.isDirectory) throw new Error("Is a directory");
          if (existing) await Deno.remove(step.path);
          await Deno.symlink(step.linkTarget, step.path);
        }
      } catch (error) {
        pathError(step.path, error);
      }
    }
  }

  async discard(paths: string[]): Promise<void> {
    for (const path of paths) await Deno.remove(path).catch(() => {});
  }
}

// ----- the copy -----

/** Progress of one file. */
export interface FileProgress {
  /** The destination's label. */
  name: string;
  done: number;
  total: number;
}

/** Options of {@link copyPath}. */
export interface CopyOptions {
  recursive: boolean;
  /** Bytes per ranged read and write. */
  pieceBytes: number;
  /** Called when a file starts (done 0), after each piece, and when it ends. */
  onProgress?: (progress: FileProgress, phase: "start" | "piece" | "end") => void;
  /** Stops the copy between pieces (with a {@link CopyError} "interrupted"); temporary files are removed. */
  signal?: AbortSignal;
  /** The source as the user wrote it, for "is a directory" messages. */
  sourceText?: string;
}

/** Finish steps are flushed in batches of this many (one remote `sh` each). */
const FINISH_BATCH_STEPS = 256;

/**
 * Copies `sourcePath` on `source` to exactly `destinationPath` on `destination` (the caller has decided
 * the name, as scp does for a directory destination). Temporary files left by a failure are removed.
 */
export async function copyPath(
  source: CopySide,
  sourcePath: string,
  destination: CopySide,
  destinationPath: string,
  options: CopyOptions,
): Promise<void> {
  const info = await source.info(sourcePath);
  if (info === null) throw new CopyError(source.label(sourcePath), "No such file or directory");
  const pending: FinishStep[] = [];
  const temporaries: string[] = [];
  const flush = async () => {
    const steps = pending.splice(0);
    await destination.finish(steps);
    const finished = new Set(steps.map((s) => s.kind === "file" ? s.temporaryPath : ""));
    temporaries.splice(0, temporaries.length, ...temporaries.filter((t) => !finished.has(t)));
  };
  try {
    if (info.kind === "directory") {
      if (!options.recursive) {
        const text = options.sourceText ?? source.label(sourcePath);
        throw new CopyError(text, "is a directory", `${text} is a directory (use -r)`);
      }
      const existing = await destination.info(destinationPath);
      if (existing !== null && existing.kind !== "directory") {
        throw new CopyError(destination.label(destinationPath), "Not a directory");
      }
      const entries = await source.listTree(sourcePath);
      await destination.createDirectory(destinationPath);
      for (const entry of entries) {
        const from = joinPaths(sourcePath, entry.relativePath);
        const to = joinPaths(destinationPath, entry.relativePath);
        if (entry.kind === "directory") {
          await destination.createDirectory(to);
        } else if (entry.kind === "symlink") {
          pending.push({ kind: "symlink", linkTarget: entry.linkTarget, path: to });
        } else if (entry.kind === "file") {
          const size = (await source.info(from))?.size ?? 0;
          const temporaryPath = temporaryPathFor(to);
          temporaries.push(temporaryPath);
          await copyData(source, from, size, destination, temporaryPath, destination.label(to), options);
          pending.push({ kind: "file", temporaryPath, path: to, executable: entry.executable });
        } else {
          console.error(`exec-server cp: ${source.label(from)}: not a regular file, skipped`);
        }
        if (pending.length >= FINISH_BATCH_STEPS) await flush();
      }
    } else if (info.kind === "file") {
      const executable = await source.isExecutable(sourcePath);
      const temporaryPath = temporaryPathFor(destinationPath);
      temporaries.push(temporaryPath);
      await copyData(
        source,
        sourcePath,
        info.size,
        destination,
        temporaryPath,
        destination.label(destinationPath),
        options,
      );
      pending.push({ kind: "file", temporaryPath, path: destinationPath, executable });
    } else {
      throw new CopyError(source.label(sourcePath), "not a regular file");
    }
    await flush();
  } catch (error) {
    await destination.discard(temporaries).catch(() => {});
    throw error;
  }
}

async function copyData(
  source: CopySide,
  from: string,
  size: number,
  destination: CopySide,
  to: string,
  name: string,
  options: CopyOptions,
): Promise<void> {
  const progress = { name, done: 0, total: size };
  options.onProgress?.(progress, "start");
  // A first (possibly empty) write creates the file.
  do {
    if (options.signal?.aborted) throw new CopyError(name, "interrupted");
    const piece = await source.read(from, progress.done, Math.min(options.pieceBytes, size - progress.done));
    await destination.writePiece(to, progress.done, piece).catch((error) => {
      // Name the file being made, not its temporary name.
      if (error instanceof CopyError) throw new CopyError(name, error.reason);
      throw error;
    });
    progress.done += piece.length;
    options.onProgress?.(progress, "piece");
    if (piece.length === 0) break;
  } while (progress.done < size);
  options.onProgress?.(progress, "end");
}
