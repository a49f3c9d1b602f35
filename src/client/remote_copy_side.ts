/**
 * An exec-server as a {@link CopySide}. File data, metadata and directories go through `fs/*` methods. The
 * protocol reports neither file modes nor link targets, and `fs/readDirectory` hides dangling links, so this
 * side also runs small POSIX `sh` scripts through `process/start` for those: one `find` listing per source
 * tree (type, executable bit, link target), `test -x` for a single file, and batched `chmod +x` / `mv -f` /
 * `ln -s` to put finished files and links in place.
 *
 * @module
 */
import { parseAbsolutePath } from "../protocol/paths.ts";
import { ExecServerClientError } from "./client_error.ts";
import type { ExecServerClient, RunResult } from "./exec_server_client.ts";
import {
  CopyError,
  type CopySide,
  type FinishStep,
  pathError,
  type PathInfo,
  type TreeEntry,
} from "./file_copy.ts";

/** Lists a tree as NUL-terminated triples: type and executable flag, `./relative/path`, link target. */
const LIST_TREE_SCRIPT = `cd -- "$1" || exit 1
exec find . ! -name . -exec sh -c '
for p; do
  if [ -L "$p" ]; then printf "l-\\0%s\\0%s\\0" "$p" "$(readlink "$p")"
  elif [ -d "$p" ]; then printf "d-\\0%s\\0\\0" "$p"
  elif [ -f "$p" ]; then
    if [ -x "$p" ]; then x=x; else x=-; fi
    printf "f%s\\0%s\\0\\0" "$x" "$p"
  else printf "o-\\0%s\\0\\0" "$p"
  fi
done' sh {} +`;

/**
 * Performs finish steps given as argument triples: `f TEMP PATH`, `x TEMP PATH` (made executable), `l TARGET
 * PATH` (a symlink). A link at PATH is replaced, never followed; a directory there is refused. On a failure
 * it prints PATH on stdout (the reason is on stderr) and stops.
 */
const FINISH_SCRIPT = `while [ "$#" -ge 3 ]; do
  if [ -L "$3" ]; then rm -f -- "$3" || { echo "$3"; exit 1; }
  elif [ -d "$3" ]; then echo "$3"; echo "Is a directory" >&2; exit 1
  fi
  case "$1" in
    x) chmod +x -- "$2" && mv -f -- "$2" "$3" ;;
    f) mv -f -- "$2" "$3" ;;
    l) ln -s -- "$2" "$3" ;;
  esac || { echo "$3"; exit 1; }
  shift 3
done`;

/** Argument bytes per finish script run (well under any ARG_MAX). */
const FINISH_BATCH_BYTES = 64 * 1024;

/** An exec-server's files: data and directories through `fs/*`, modes and links through `sh`. */
export class RemoteCopySide implements CopySide {
  constructor(readonly client: ExecServerClient, readonly name: string) {}

  label(path: string): string {
    return `${this.name}:${path}`;
  }

  /** The server's home directory (`environmentInfo.userHomeDir`), for relative remote paths. */
  async homeDirectory(): Promise<string> {
    const info = await this.client.environmentInfo();
    if (info.userHomeDir === undefined) {
      throw new CopyError(this.name, "the server does not report its home directory; use an absolute path");
    }
    return parseAbsolutePath(info.userHomeDir);
  }

  async info(path: string): Promise<PathInfo | null> {
    try {
      const metadata = await this.client.getMetadata(path);
      return {
        kind: metadata.isFile ? "file" : metadata.isDirectory ? "directory" : "other",
        size: metadata.size,
      };
    } catch (error) {
      if (error instanceof ExecServerClientError && /No such file or directory/.test(error.message)) {
        return null;
      }
      pathError(this.label(path), error);
    }
  }

  async isExecutable(path: string): Promise<boolean> {
    const result = await this.#sh(path, 'test -x "$1" && echo x || echo -', [path]);
    return new TextDecoder().decode(result).trim() === "x";
  }

  async listTree(root: string): Promise<TreeEntry[]> {
    const output = await this.#sh(root, LIST_TREE_SCRIPT, [root]);
    const fields = new TextDecoder().decode(output).split("\0");
    const entries: TreeEntry[] = [];
    for (let i = 0; i + 2 < fields.length; i += 3) {
      const [type, path, linkTarget] = [fields[i], fields[i + 1], fields[i + 2]];
      const kind = type[0] === "l"
        ? "symlink"
        : type[0] === "d"
        ? "directory"
        : type[0] === "f"
        ? "file"
        : "other";
      entries.push({
        kind,
        relativePath: path.replace(/^\.\//, ""),
        executable: type[1] === "x",
        linkTarget,
      });
    }
    // find's order is pre-order but unsorted within a directory; sort siblings for a stable order.
    return sortPreOrder(entries);
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    try {
      return await this.client.readFile(path, { offset, length });
    } catch (error) {
      pathError(this.label(path), error);
    }
  }

  async createDirectory(path: string): Promise<void> {
    try {
      await this.client.createDirectory(path, { recursive: false });
    } catch (error) {
      if ((await this.info(path).catch(() => null))?.kind === "directory") return;
      pathError(this.label(path), error);
    }
  }

  async writePiece(path: string, offset: number, bytes: Uint8Array): Promise<void> {
    try {
      // offset 0 creates or truncates (a plain write); later pieces are written in place.
      await this.client.writeFile(path, bytes, offset === 0 ? {} : { offset });
    } catch (error) {
      pathError(this.label(path), error);
    }
  }

  async finish(steps: FinishStep[]): Promise<void> {
    let batch: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await this.#run(batch[2], FINISH_SCRIPT, batch);
      if (result.exitCode !== 0) {
        const path = new TextDecoder().decode(result.stdout).trim() || batch[2];
        throw new CopyError(this.label(path), shellReason(result));
      }
      batch = [];
      bytes = 0;
    };
    for (const step of steps) {
      const args = step.kind === "file"
        ? [step.executable ? "x" : "f", step.temporaryPath, step.path]
        : ["l", step.linkTarget, step.path];
      batch.push(...args);
      bytes += args.reduce((n, a) => n + a.length + 1, 0);
      if (bytes >= FINISH_BATCH_BYTES) await flush();
    }
    await flush();
  }

  async discard(paths: string[]): Promise<void> {
    for (const path of paths) {
      await this.client.remove(path, { recursive: false, force: true }).catch(() => {});
    }
  }

  /** Runs `sh -c script sh args...`; its stdout, or a {@link CopyError} about `subject` with its stderr. */
  async #sh(subject: string, script: string, args: string[]): Promise<Uint8Array> {
    const result = await this.#run(subject, script, args);
    if (result.exitCode !== 0) throw new CopyError(this.label(subject), shellReason(result, true));
    return result.stdout;
  }

  async #run(subject: string, script: string, args: string[]): Promise<RunResult> {
    try {
      return await this.client.run(["sh", "-c", script, "sh", ...args], { cwd: "/" });
    } catch (error) {
      pathError(this.label(subject), error);
    }
  }
}

/**
 * Why a script failed, in words: the last stderr line without the tool's name, or only its reason
 * (`mv: cannot move 'a' to 'b': Permission denied` gives `Permission denied`), or how the script ended.
 */
function shellReason(result: RunResult, keepPaths = false): string {
  const lines = new TextDecoder().decode(result.stderr).trim().split("\n");
  const last = lines[lines.length - 1].trim().replace(/^(sh|find|readlink|test|mv|ln|chmod|rm): /, "");
  if (last !== "") return keepPaths ? last : last.slice(last.lastIndexOf(": ") + 1).trim() || last;
  return result.failure ?? `exit status ${result.exitCode}`;
}

/** Orders entries so that a directory comes right before its contents, siblings by name. */
function sortPreOrder(entries: TreeEntry[]): TreeEntry[] {
  const key = (entry: TreeEntry) => entry.relativePath.split("/");
  return [...entries].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return x.length - y.length;
  });
}
