/**
 * `fs/watchMissing`: one watch per connection on paths the client found missing (and optionally one it
 * found present), answered with one `fs/missingChanged` once that changes: a missing path (or a missing
 * ancestor of it) appears, or the present path goes away. Event-driven (inotify through `Deno.watchFs`
 * on the nearest existing ancestor of each path), never polled. Rules follow the reference (Codex 0.171):
 * a watch id must exceed every earlier one on the connection, a newer id replaces the current watch, at
 * most 64 missing paths, and `watching: false` whenever there is nothing to wait for.
 *
 * @module
 */
import { dirname } from "../util/absolute_path.ts";
import { log } from "../util/log.ts";

/** Most missing paths one watch takes (more answer `watching: false`). */
export const WATCH_MISSING_LIMIT = 64;

/** Options for {@link MissingWatch}. */
export interface MissingWatchOptions {
  /** Called once when the current watch fires. */
  onChanged(watchId: number): void;
  /** Called after each filesystem event was examined (tests wait on it instead of sleeping). */
  onEvent?(): void;
}

/** The deepest existing path on the way to `path` (`path` itself when it exists; links not followed). */
function nearestExisting(path: string): string {
  for (let current = path;; current = dirname(current)) {
    try {
      Deno.lstatSync(current);
      return current;
    } catch {
      if (current === "/") return "/";
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The watch state of one connection. */
export class MissingWatch {
  #lastId = 0;
  #watcher: Deno.FsWatcher | null = null;
  #closed = false;

  constructor(private readonly options: MissingWatchOptions) {}

  /**
   * Handles one `fs/watchMissing` (paths already native and absolute). Returns `watching`: true when a
   * notification may follow.
   */
  watch(watchId: number, missing: readonly string[], present: string | null): boolean {
    if (this.#closed || watchId <= this.#lastId) return false;
    this.#lastId = watchId;
    this.#stop();
    if (missing.length === 0 || missing.length > WATCH_MISSING_LIMIT) return false;
    const ancestors = missing.map(nearestExisting);
    if (ancestors.some((ancestor, i) => ancestor === missing[i])) return false;
    if (present !== null && !exists(present)) return false;
    const changed = () =>
      missing.some((path, i) => nearestExisting(path) !== ancestors[i]) ||
      (present !== null && !exists(present));
    const watched = new Set(ancestors);
    if (present !== null) watched.add(dirname(present));
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs([...watched], { recursive: false });
    } catch (error) {
      log.warn(`fs/watchMissing: cannot watch ${[...watched].join(", ")}: ${error}`);
      return false;
    }
    this.#watcher = watcher;
    const fire = () => {
      if (this.#watcher !== watcher) return;
      this.#stop();
      this.options.onChanged(watchId);
    };
    (async () => {
      try {
        for await (const _event of watcher) {
          if (changed()) fire();
          this.options.onEvent?.();
          if (this.#watcher !== watcher) break;
        }
      } catch {
        // Closed.
      }
    })();
    // A change between the first look and the watcher's start would otherwise go unseen.
    if (changed()) queueMicrotask(fire);
    return true;
  }

  /** Ends the watch for good (the connection closed). */
  close(): void {
    this.#closed = true;
    this.#stop();
  }

  #stop(): void {
    const watcher = this.#watcher;
    this.#watcher = null;
    try {
      watcher?.close();
    } catch {
      // Already closed.
    }
  }
}
