/**
 * The stdio adapter: exactly one connection over this process's stdin/stdout (NDJSON). When stdin ends,
 * the server shuts down and terminates every process it started.
 *
 * @module
 */
import { StreamTransport } from "../rpc/stream_transport.ts";
import type { ExecServer } from "./exec_server.ts";
import { enlargePipe } from "../process/libc_fds.ts";

const STDIO_PIPE_BYTES = 1024 * 1024;

/**
 * Our send queue on stdio (above it, producers wait and requests are not read). Behind a 1 MiB pipe, 1 MiB
 * more keeps a stream at full speed; 4 MiB measured the same speed and ~7 MiB more peak RSS under a 200 MB
 * stdout stream (queued output, and the garbage of the reads behind it).
 */
const STDIO_QUEUE_BYTES = 1024 * 1024;

/** Serves one connection on stdio; resolves when it has closed and the server has shut down. */
export async function serveStdio(server: ExecServer): Promise<void> {
  // Pipes from the client (or sshd) hold 64 KiB: every 64 KiB of a large response or request would be a
  // round of wake-ups between the two processes. 1 MiB cut a 67 MB transfer from ~100 ms to ~60 ms here.
  // After the first initialize reply, off the cold start path (opening libc costs a few ms).
  server.firstClient.then(() => {
    if (Deno.build.os !== "linux") return;
    enlargePipe(0, STDIO_PIPE_BYTES);
    enlargePipe(1, STDIO_PIPE_BYTES);
  });
  const transport = new StreamTransport(Deno.stdin.readable, Deno.stdout, {
    description: "exec-server stdio",
    maxMessageBytes: server.options.maxMessageBytes,
    highWaterBytes: STDIO_QUEUE_BYTES,
  });
  await server.accept(transport).closed;
  await server.shutdown();
}
