/**
 * Shared setup for client tests: an `ExecServerClient` connected to our server over WebSocket (an
 * in-process server on 127.0.0.1) or a stdio command (`main.ts --listen stdio` as a child).
 *
 * @module
 */
import { ExecServerClient, type ExecServerClientOptions } from "../src/client/exec_server_client.ts";
import type { ExecServerTransportParams } from "../src/client/connector.ts";
import type { ServerOptions } from "../src/server/options.ts";
import { type InProcessServer, MAIN_TS, SERVER_ARGV, startInProcessServer } from "./support/servers.ts";

/** The two client transports every client test runs over. */
export const CLIENT_TRANSPORTS = ["websocket", "stdio"] as const;
/** One of {@link CLIENT_TRANSPORTS}. */
export type ClientTransport = (typeof CLIENT_TRANSPORTS)[number];

/** Stdio transport params that run our server from source. */
export function stdioServerParams(extraArgs: string[] = []): ExecServerTransportParams {
  return {
    kind: "stdio",
    command: { program: SERVER_ARGV[0], args: [...SERVER_ARGV.slice(1), "--listen", "stdio", ...extraArgs] },
  };
}

/** Runs `fn` with a connected client over `transport`; closes everything afterwards. */
export async function withClient(
  transport: ClientTransport,
  fn: (client: ExecServerClient, server: InProcessServer | null) => Promise<void>,
  options: { client?: ExecServerClientOptions; server?: Partial<ServerOptions> } = {},
): Promise<void> {
  const server = transport === "websocket" ? await startInProcessServer(options.server) : null;
  let client: ExecServerClient | null = null;
  try {
    client = await ExecServerClient.connect(
      server ? { kind: "websocket", url: server.url } : stdioServerParams(),
      options.client,
    );
    await fn(client, server);
  } finally {
    await client?.close();
    await server?.close();
  }
}

/** UTF-8 text of bytes. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Runs `main.ts <args>` with `stdin` and returns status and output. */
export async function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN_TS, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}
