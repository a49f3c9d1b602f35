/** Where an MCP transport's traffic goes: a connected client or an environment (lazily connected). @module */
import { Environment } from "../client/environment.ts";
import type { ExecServerClient } from "../client/exec_server_client.ts";

/** An exec-server client, or an {@link Environment} whose client is (re)connected on demand. */
export type ExecutorSource = ExecServerClient | Environment;

/** The client to use now: an environment reconnects after a WebSocket drop, a bare client does not. */
export function clientOf(source: ExecutorSource): Promise<ExecServerClient> {
  return source instanceof Environment ? source.client() : Promise.resolve(source);
}
