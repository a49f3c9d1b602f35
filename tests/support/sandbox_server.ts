/**
 * For sandbox tests against a real server: a `main.ts` WebSocket server plus a connected client, sandbox
 * contexts in wire form, and running a command under one through the client.
 *
 * @module
 */
import { ExecServerClient } from "../../src/client/exec_server_client.ts";
import { bwrapAvailable } from "../../src/sandbox/bwrap.ts";
import { requires } from "./requirements.ts";
import { type ServerProcess, startWebSocketServer } from "./servers.ts";

/** Sandbox tests need bubblewrap (and Linux); under `CI=true` they run regardless (and fail without it). */
export const NO_BWRAP = Deno.build.os !== "linux" || (requires("bubblewrap").ignore && !bwrapAvailable());
/** True when the tests run as root (the case the privilege tests are about). */
export const IS_ROOT = Deno.build.os === "linux" && Deno.uid() === 0;

/** One sandbox entry on the wire. */
export type WireEntry = { path: unknown; access: "read" | "write" | "none" };
export const rootEntry = (access: WireEntry["access"]): WireEntry => ({
  path: { type: "special", value: { kind: "root" } },
  access,
});
export const pathEntry = (path: string, access: WireEntry["access"]): WireEntry => ({
  path: { type: "path", path },
  access,
});

/** A managed restricted profile with these entries. */
export function managedSandbox(entries: WireEntry[], options: { network?: boolean; cwd?: string } = {}) {
  return {
    permissions: {
      type: "managed",
      file_system: { type: "restricted", entries },
      network: options.network ? "enabled" : "restricted",
    },
    windowsSandboxLevel: "disabled",
    ...(options.cwd ? { cwd: options.cwd } : {}),
  };
}

/** A started server and a client connected to it. */
export interface SandboxServer {
  server: ServerProcess;
  url: string;
  client: ExecServerClient;
}

/** How the test's own (unsandboxed) client connects. */
export interface ClientAccess {
  headers?: Record<string, string>;
  caCertificates?: string[];
}

/** Starts `main.ts --listen ws://127.0.0.1:0 [args]`, connects a client, runs `fn`. */
export async function withSandboxServer(
  args: string[],
  fn: (s: SandboxServer) => Promise<void>,
  access: ClientAccess = {},
): Promise<void> {
  const listen = args.includes("--tls-key") ? "wss://127.0.0.1:0" : "ws://127.0.0.1:0";
  const server = await startWebSocketServer(args, undefined, listen);
  try {
    const client = await connectClient(server.url!, access);
    try {
      await fn({ server, url: server.url!, client });
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
}

/** A fresh client connection to `url`. */
export function connectClient(url: string, access: ClientAccess = {}): Promise<ExecServerClient> {
  return ExecServerClient.connect({ kind: "websocket", url, ...access });
}

/** Output and exit code of a command. */
export interface Ran {
  exitCode: number | null;
  /** stdout and stderr together, in arrival order. */
  output: string;
}

/** Runs `argv` through the client under `sandbox` and waits for it to close. */
export async function runSandboxed(
  client: ExecServerClient,
  argv: string[],
  sandbox: unknown,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  const handle = await client.startProcess({
    argv,
    cwd: options.cwd ?? "/",
    env: {
      PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
      HOME: Deno.env.get("HOME") ?? "/",
      ...options.env,
    },
    tty: false,
    sandbox: (sandbox ?? undefined) as never,
  });
  let output = "";
  const decoder = new TextDecoder();
  for await (const event of handle) {
    if (event.type === "output") output += decoder.decode(event.chunk, { stream: true });
  }
  const outcome = await handle.wait();
  return { exitCode: outcome.exitCode, output };
}

/** Runs `script` with `/bin/sh -c` under `sandbox`. */
export function shSandboxed(
  client: ExecServerClient,
  script: string,
  sandbox: unknown,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return runSandboxed(client, ["/bin/sh", "-c", script], sandbox, options);
}
