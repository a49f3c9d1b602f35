/**
 * The stdin end of a child spawned through libc: writes land in call order, never block the event loop.
 *
 * @module
 */
import { writeAllNonBlocking } from "./fd_write.ts";
import { closeFd } from "./libc_fds.ts";

/** Our stdin end: ordered non-blocking writes, waiting for writability on a worker thread when full. */
export class PipeWriter {
  readonly #fd: number;
  /** Serialises writes (and the close) so they land in call order. */
  #chain: Promise<void> = Promise.resolve();
  #closing = false;
  #fdClosed = false;
  #writing = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(new Error("write to a closed stdin"));
    if (data.length === 0) return Promise.resolve();
    const copy = data.slice(); // the caller may reuse its buffer before we are done
    const done = this.#chain.then(() => this.#writeAll(copy));
    this.#chain = done.catch(() => {});
    return done;
  }

  async #writeAll(data: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#writing = true;
    try {
      await writeAllNonBlocking(this.#fd, data, {
        cancelled: () => this.#closing,
        cancelledMessage: "stdin was closed before the write completed",
        goneMessage: "Broken pipe (os error 32): the process closed its stdin",
      });
    } finally {
      this.#writing = false;
      if (this.#closing) this.#closeFd();
    }
  }

  /** EOF for the child, after every write already queued. */
  close(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    const done = this.#chain.then(() => {
      this.#closing = true;
      this.#closeFd();
    });
    this.#chain = done;
    return done;
  }

  /** Closes at once; a pending write rejects (the fd is closed once no poll uses it any more). */
  destroy(): void {
    this.#closing = true;
    if (!this.#writing) this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    closeFd(this.#fd);
  }
}
