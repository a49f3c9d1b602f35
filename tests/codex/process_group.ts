/**
 * Helpers for child processes started in their own process group (`detached: true` = setsid), so a
 * test can stop a process together with everything it spawned.
 *
 * @module
 */

/** Resolves with the child's status, or `undefined` if it has not exited within `ms`. */
export async function statusWithin(
  child: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([child.status, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops a detached child's whole process group: SIGTERM, then SIGKILL after `graceMs`.
 * Resolves with the child's final status.
 */
export async function stopGroup(child: Deno.ChildProcess, graceMs = 2000): Promise<Deno.CommandStatus> {
  signalGroup(child.pid, "SIGTERM");
  const status = await statusWithin(child, graceMs);
  // Kill the group even if the leader exited: grandchildren may still hold pipes open.
  signalGroup(child.pid, "SIGKILL");
  return status ?? await child.status;
}

/** Sends `signal` to process group `pgid`, ignoring "no such process". */
export function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Collects a byte stream into a string in the background. */
export class StreamText {
  #chunks: string[] = [];
  #decoder = new TextDecoder();
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Resolves when the stream ends (EOF, error or {@linkcode cancel}). */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
    this.done = this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#chunks.push(this.#decoder.decode(value, { stream: true }));
      }
    } catch {
      // Cancelled or broken pipe: keep what was read.
    }
  }

  /** Text read so far. */
  get text(): string {
    return this.#chunks.join("");
  }

  /** Waits up to `ms` for EOF, then stops reading (a lingering grandchild may hold the pipe open). */
  async finish(ms: number): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.done, new Promise((r) => timer = setTimeout(r, ms))]);
    clearTimeout(timer);
    await this.#reader.cancel().catch(() => {});
    await this.done;
    return this.text;
  }
}
