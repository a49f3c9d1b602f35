/**
 * Writing all of a buffer to a non-blocking fd (a pty master, our end of a child's stdin pipe) without ever
 * blocking the event loop: plain `write(2)` calls while the kernel takes bytes, a `poll(2)` for writability
 * on a worker thread when it is full.
 *
 * @module
 */
import { waitWritable, writeNonBlocking } from "./libc_fds.ts";

/** Bytes written in one synchronous burst before letting other tasks run. */
const WRITE_BURST_BYTES = 256 * 1024;
/** Longest single wait for writability; bounds how long a pending write notices that it was cancelled. */
const WRITE_POLL_MS = 250;

/** How {@link writeAllNonBlocking} learns that its fd is being closed, and what it says when it fails. */
export interface FdWriteOptions {
  /** True once our side is closing the fd: the write stops with `cancelledMessage`. */
  cancelled(): boolean;
  cancelledMessage: string;
  /** The reader is gone (EPIPE, or no process holds a pty's slave). */
  goneMessage: string;
}

/** Writes every byte of `data` to the non-blocking `fd`; rejects when cancelled or the reader is gone. */
export async function writeAllNonBlocking(
  fd: number,
  data: Uint8Array<ArrayBuffer>,
  options: FdWriteOptions,
): Promise<void> {
  let offset = 0;
  let burst = 0;
  while (offset < data.length) {
    if (options.cancelled()) throw new Error(options.cancelledMessage);
    const written = writeNonBlocking(fd, data.subarray(offset));
    if (written > 0) {
      offset += written;
      burst += written;
      if (burst >= WRITE_BURST_BYTES) {
        burst = 0;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      continue;
    }
    burst = 0;
    // Full (EAGAIN), or the reader is gone (EPIPE: SIGPIPE is ignored here): poll tells which.
    const state = await waitWritable(fd, WRITE_POLL_MS);
    if (state === "closed" && !options.cancelled()) throw new Error(options.goneMessage);
  }
}
