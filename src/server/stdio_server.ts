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
  });
  await server.accept(transport).closed;
  await server.shutdown();
}
