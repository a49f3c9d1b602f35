/**
 * Reading a non-blocking fd (a pty master, our end of a child's stdout or stderr pipe) as a pull-based web
 * stream, through `node:tty`'s `ReadStream`: it polls the fd on the event loop (no thread parked per fd),
 * reads 64 KiB at a time, and `pause()` stops reading the fd, which is how backpressure reaches the child.
 * (For a pty it measured about twice as fast as FFI `read` on a worker thread; for a pipe, 100 MB pass a
 * 1 MiB pipe in about 170 ms.)
 *
 * `node:tty` is loaded lazily with a dynamic import, so nothing of Node's compatibility layer is loaded on
 * the server's startup path. A spawn stays synchronous: the stream's `start()` waits for the module when it
 * is not loaded yet (reads wait for `start()`), and the fd is read from then on. {@link preloadNodeTty}
 * loads it ahead of the first child, off the critical path.
 *
 * @module
 */

import { closeFd } from "./libc_fds.ts";

type NodeTty = typeof import("node:tty");
type TtyReadStream = InstanceType<NodeTty["ReadStream"]>;

let nodeTty: NodeTty | null = null;
let loading: Promise<NodeTty> | null = null;

/** `node:tty`, imported on first use (once). */
export function loadNodeTty(): Promise<NodeTty> {
  loading ??= import("node:tty").then((module) => (nodeTty = module));
  return loading;
}

/**
 * Starts loading `node:tty` in the background, so the first child's output is not delayed by the import.
 * Meant to be called once the server is up; safe to call any number of times.
 */
export function preloadNodeTty(): void {
  loadNodeTty().catch(() => {
    // The first reader reports the failure.
  });
}

/** Options for {@link readFd}. */
export interface FdReaderOptions {
  /** Bytes buffered in the stream before the fd is no longer read. */
  highWaterMark: number;
  /** A read error `EIO` ends the stream normally (a pty master once no process holds the slave). */
  eioIsEnd?: boolean;
}

/** A non-blocking fd being read into {@link stream}. */
export interface FdReader {
  /**
   * What the fd yields, until EOF. Pull-based: while the consumer does not read, the fd is not read either.
   * Cancelling it discards any further data (the fd keeps being drained, so the writer never blocks).
   */
  readonly stream: ReadableStream<Uint8Array>;
  /** Stops reading and closes the fd (idempotent); data not read yet is dropped and {@link stream} closes. */
  destroy(): void;
}

/** Reads `fd` (which must be non-blocking; the reader owns it and closes it at EOF or on `destroy()`). */
export function readFd(fd: number, options: FdReaderOptions): FdReader {
  return new FdReaderImpl(fd, options);
}

class FdReaderImpl implements FdReader {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #fd: number;
  readonly #eioIsEnd: boolean;
  #socket: TtyReadStream | null = null;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #done = false;
  #discard = false;
  #destroyed = false;

  constructor(fd: number, options: FdReaderOptions) {
    this.#fd = fd;
    this.#eioIsEnd = options.eioIsEnd ?? false;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        if (nodeTty) return this.#attach(nodeTty);
        return loadNodeTty().then((module) => this.#attach(module), (error) => {
          if (!this.#destroyed) {
            this.#destroyed = true;
            closeFd(this.#fd);
          }
          this.#finish(error);
        });
      },
      pull: () => {
        this.#socket?.resume();
      },
      cancel: () => {
        // Already closed for the consumer; keep draining the fd so the writer never blocks on it.
        this.#discard = true;
        this.#done = true;
        this.#socket?.resume();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark }));
  }

  #attach(module: NodeTty): void {
    if (this.#destroyed) return; // destroy() came first and closed the fd
    // The stream owns the fd from here: destroying it (or its end) closes the fd.
    const socket = new module.ReadStream(this.#fd);
    this.#socket = socket;
    socket.pause();
    socket.on("data", (chunk: Uint8Array) => {
      if (this.#discard || this.#done) return;
      this.#controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if ((this.#controller.desiredSize ?? 0) <= 0) socket.pause();
    });
    socket.on("error", (error: Error & { code?: string }) => {
      this.#finish(this.#eioIsEnd && error.code === "EIO" ? undefined : error);
    });
    socket.on("end", () => this.#finish());
    socket.on("close", () => this.#finish());
    if (this.#discard) socket.resume(); // cancelled before the module was loaded
  }

  #finish(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (error) this.#controller.error(error);
    else this.#controller.close();
  }

  destroy(): void {
    if (!this.#destroyed) {
      this.#destroyed = true;
      if (this.#socket) this.#socket.destroy();
      else closeFd(this.#fd); // not handed to a ReadStream yet (node:tty still loading)
    }
    this.#finish();
  }
}
