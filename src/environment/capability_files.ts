/**
 * What capability discovery (`capabilities/discoverV2`, `capabilityRoots/discoverV1`) shares: the file
 * access it needs ({@link ScanFs}, so the server can run it directly or inside a sandbox), Codex 0.171's
 * scan limits (six directories deep, 2000 directories per root, files of at most 1 MiB of UTF-8), and
 * the listing of a root's files in path order.
 *
 * @module
 */

/** The file access discovery needs. Native absolute paths in and out. */
export interface ScanFs {
  /** Whether `path` is a directory; throws an error whose message is the OS error when it is absent. */
  isDirectory(path: string): Promise<boolean>;
  /**
   * Every file under `root`, breadth-first, at most `maxDepth` directories below it and reading at most
   * `maxDirectories` directories (the root included; `truncated` when more were left unread); symlinked
   * directories are followed (each descended once), symlinked files are not listed.
   */
  listFiles(
    root: string,
    limits: { maxDepth: number; maxDirectories: number },
  ): Promise<{ files: string[]; truncated: boolean }>;
  /** A directory's entries (types following symlinks), or `null` when it cannot be read. */
  listDirectory(path: string): Promise<{ name: string; isDirectory: boolean }[] | null>;
  /** At most the first `maxBytes` bytes of a file, or `null` when it cannot be read. */
  readBytes(path: string, maxBytes: number): Promise<Uint8Array | null>;
}

/** How deep below its root a file is still found (0.171: a SKILL.md six directories down, not seven). */
export const SCAN_MAX_DEPTH = 6;
/** How many directories one root's scan reads, the root included (0.171: 2000, then a warning). */
export const SCAN_MAX_DIRECTORIES = 2000;
/** The largest capability file read (0.171: 1 MiB; a larger one is skipped with a warning). */
export const CAPABILITY_FILE_MAX_BYTES = 1024 * 1024;

/** A capability file read: its text, absent, or a reason it was skipped (for the warning). */
export type CapabilityRead = { text: string } | { absent: true } | { problem: string };

/** Reads a capability file as 0.171 does: at most 1 MiB, UTF-8 only. */
export async function readCapabilityFile(fs: ScanFs, path: string): Promise<CapabilityRead> {
  const bytes = await fs.readBytes(path, CAPABILITY_FILE_MAX_BYTES + 1);
  if (bytes === null) return { absent: true };
  if (bytes.length > CAPABILITY_FILE_MAX_BYTES) {
    return { problem: `exceeds the ${CAPABILITY_FILE_MAX_BYTES}-byte limit` };
  }
  const invalid = utf8Error(bytes);
  if (invalid !== null) return { problem: `is not UTF-8: ${invalid}` };
  return { text: new TextDecoder().decode(bytes) };
}

/**
 * Where `bytes` stop being UTF-8, worded as Rust's `Utf8Error` is ("invalid utf-8 sequence of 1 bytes
 * from index 3", "incomplete utf-8 byte sequence from index 5"); `null` when they are valid.
 */
export function utf8Error(bytes: Uint8Array): string | null {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    let width: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) width = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      width = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      width = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else {
      return `invalid utf-8 sequence of 1 bytes from index ${i}`;
    }
    for (let k = 1; k < width; k++) {
      if (i + k >= bytes.length) return `incomplete utf-8 byte sequence from index ${i}`;
      const byte = bytes[i + k];
      const ok = k === 1 ? byte >= low && byte <= high : byte >= 0x80 && byte <= 0xbf;
      if (!ok) return `invalid utf-8 sequence of ${k} bytes from index ${i}`;
    }
    i += width;
  }
  return null;
}

export function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The files under `root` within the scan limits, in path (byte) order. */
export async function scanFiles(fs: ScanFs, root: string): Promise<{ files: string[]; truncated: boolean }> {
  const { files, truncated } = await fs.listFiles(root, {
    maxDepth: SCAN_MAX_DEPTH,
    maxDirectories: SCAN_MAX_DIRECTORIES,
  });
  return { files: [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), truncated };
}
