/**
 * The stdio adapter: exactly one connection over this process's stdin/stdout (NDJSON). When stdin ends,
 * the server shuts down and terminates every process it started.
 *
 * @module
 */
import { StreamTransport } from "../rpc/stream_transport.ts";
import type { ExecServer } from "./exec_server.ts";

/** Serves one connection on stdio; resolves when it has closed and the server has shut down. */
export async function serveStdio(server: ExecServer): Promise<void> {
  const transport = new StreamTransport(Deno.stdin.readable, Deno.stdout, {
    description: "exec-server stdio",
    maxMessageBytes: server.options.maxMessageBytes,
  });
  await server.accept(transport).closed;
  await server.shutdown();
}
