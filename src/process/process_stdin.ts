/**
 * A managed process's stdin: ordered writes that wait only when too much is queued, `writeId`s already
 * written answered without writing again, and EOF after everything queued.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { WriteStatus } from "../protocol/process.ts";
import type { SpawnedChild } from "./child.ts";
import { WriteIds } from "./write_ids.ts";

/** Stdin bytes queued beyond this make `process/write` wait for the child to catch up. */
const STDIN_QUEUE_LIMIT = 1024 * 1024;

/** The stdin side of one process. */
export class ProcessStdin {
  readonly #child: SpawnedChild;
  readonly #tty: boolean;
  #state: "open" | "closed" | "none";
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  readonly #writeIds = new WriteIds();

  constructor(child: SpawnedChild, tty: boolean) {
    this.#child = child;
    this.#tty = tty;
    this.#state = child.writeStdin ? "open" : "none";
  }

  /**
   * `process/write`: queues bytes for stdin (ordered), waiting only when too much is queued. A `writeId`
   * already written on this process is answered `accepted` and not written again (a client's retry).
   * `terminating`: the process is being terminated, so a new write fails.
   */
  async write(data: Uint8Array, writeId: string | undefined, terminating: boolean): Promise<WriteStatus> {
    if (writeId !== undefined && this.#writeIds.has(writeId)) return "accepted";
    if (this.#state === "none") return "stdinClosed";
    if (terminating) throw RpcError.internal("failed to write to process stdin");
    if (this.#state === "closed") return "stdinClosed";
    if (writeId !== undefined) this.#writeIds.remember(writeId);
    if (data.length === 0) return "accepted";
    const write = this.#child.writeStdin!;
    this.#queued += data.length;
    const done = this.#chain.then(() => write(data)).catch(() => {
      // Writes after the child closed its stdin or exited are swallowed, as in the reference.
    }).finally(() => {
      this.#queued -= data.length;
    });
    this.#chain = done;
    if (this.#queued > STDIN_QUEUE_LIMIT) await done;
    return "accepted";
  }

  /** `process/closeStdin` (extension): EOF after everything already queued. */
  async close(): Promise<WriteStatus> {
    if (this.#state === "none") return "stdinClosed";
    if (this.#state === "closed") return "stdinClosed";
    if (!this.#tty) this.#state = "closed";
    const close = this.#child.closeStdin!;
    this.#chain = this.#chain.then(() => close()).catch(() => {});
    await this.#chain;
    return "accepted";
  }
}
