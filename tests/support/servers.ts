/**
 * Starting servers for tests: in-process (WebSocket on 127.0.0.1) or as a real `main.ts` subprocess
 * over stdio or WebSocket. Every launcher returns something to `close()` in a `finally`.
 *
 * @module
 */
import { StreamTransport } from "../../src/rpc/stream_transport.ts";
import { WebSocketTransport } from "../../src/rpc/websocket_transport.ts";
import { ExecServer } from "../../src/server/exec_server.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import { listenWebSocket, type WebSocketListener } from "../../src/server/websocket_listener.ts";
import { setSelfCommand } from "../../src/util/self_command.ts";
import { sha256 } from "../../src/server/ws_auth.ts";
import { RpcPeer } from "./rpc_peer.ts";

/** Absolute path of main.ts. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** The argv that runs our server from source. */
export const SERVER_ARGV = [Deno.execPath(), "run", "-A", "--quiet", MAIN_TS];

// In-process servers re-run themselves for sandbox helpers: point that at main.ts, not the test file.
setSelfCommand([Deno.execPath(), "run", "-A", "--quiet", MAIN_TS]);

/** Opens a WebSocket and wraps it as a peer. */
export async function connectWebSocket(url: string, protocols?: WebSocketInit): Promise<RpcPeer> {
  const socket = new WebSocket(url, protocols);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = (e) => reject(new Error(`websocket connect failed: ${(e as ErrorEvent).message}`));
  });
  return new RpcPeer(new WebSocketTransport(socket, { description: `test client ${url}` }));
}

interface WebSocketInit {
  headers?: Record<string, string>;
}

/** An in-process server listening on ws://127.0.0.1:0. */
export interface InProcessServer {
  server: ExecServer;
  listener: WebSocketListener;
  url: string;
  connect(): Promise<RpcPeer>;
  close(): Promise<void>;
}

/** Starts an in-process server with `options`. */
export async function startInProcessServer(options: Partial<ServerOptions> = {}): Promise<InProcessServer> {
  const server = new ExecServer(options);
  const listener = await listenWebSocket(server, { hostname: "127.0.0.1", port: 0 });
  const peers: RpcPeer[] = [];
  return {
    server,
    listener,
    url: listener.url,
    async connect() {
      const peer = await connectWebSocket(listener.url);
      peers.push(peer);
      return peer;
    },
    async close() {
      for (const peer of peers) peer.close();
      await server.shutdown();
      await listener.close();
    },
  };
}

/** A `main.ts` subprocess. */
export interface ServerProcess {
  child: Deno.ChildProcess;
  /** For stdio servers: the peer on its pipes. For WebSocket servers: the bound URL. */
  peer?: RpcPeer;
  url?: string;
  stderr(): string;
  close(): Promise<Deno.CommandStatus>;
}

/**
 * Runs `main.ts --listen stdio [args]` and returns a peer on its pipes; `wrap` is an argv prefix that
 * runs it (`unshare ...`).
 */
export function startStdioServer(
  args: string[] = [],
  env?: Record<string, string>,
  wrap: string[] = [],
): ServerProcess {
  const argv = [...wrap, ...SERVER_ARGV, "--listen", "stdio", ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const stderr = collect(child.stderr);
  const peer = new RpcPeer(
    new StreamTransport(child.stdout, child.stdin, { description: "test stdio client" }),
  );
  return {
    child,
    peer,
    stderr: () => stderr.text,
    async close() {
      peer.close();
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      const status = await child.status;
      await stderr.done;
      return status;
    },
  };
}

/** Runs `main.ts --listen ws://127.0.0.1:0 [args]` and waits for its URL line. */
export async function startWebSocketServer(
  args: string[] = [],
  env?: Record<string, string>,
  listen = "ws://127.0.0.1:0",
): Promise<ServerProcess> {
  const child = new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), "--listen", listen, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const stderr = collect(child.stderr);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before printing its URL: ${stderr.text}`);
    text += value;
  }
  const rest = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    child,
    url: text.trim(),
    stderr: () => stderr.text,
    async close() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      const status = await child.status;
      await rest;
      await stderr.done;
      return status;
    },
  };
}

function collect(stream: ReadableStream<Uint8Array>): { text: string; done: Promise<void> } {
  const state = { text: "", done: Promise.resolve() };
  state.done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) state.text += chunk;
  })();
  return state;
}

/** The transports every protocol test runs over. */
export const TRANSPORTS = ["websocket", "stdio"] as const;

/**
 * Runs `fn` with an initialized peer on a fresh server over `transport` (in-process WebSocket server, or
 * a `main.ts --listen stdio` subprocess), and tears everything down afterwards.
 */
export async function withPeer(
  transport: (typeof TRANSPORTS)[number],
  fn: (peer: RpcPeer) => Promise<void>,
  options: {
    serverArgs?: string[];
    serverOptions?: Partial<ServerOptions>;
    /** Extra environment for the stdio server subprocess. */
    serverEnv?: Record<string, string>;
    handshake?: boolean;
  } = {},
): Promise<void> {
  if (transport === "websocket") {
    const server = await startInProcessServer(options.serverOptions);
    try {
      const peer = await server.connect();
      if (options.handshake !== false) await peer.handshake();
      await fn(peer);
    } finally {
      await server.close();
    }
  } else {
    const server = startStdioServer(options.serverArgs, options.serverEnv);
    try {
      if (options.handshake !== false) await server.peer!.handshake();
      await fn(server.peer!);
    } finally {
      await server.close();
    }
  }
}

/** Runs `fn` with the URL of an in-process server that requires `Authorization: Bearer <token>`. */
export async function withTokenServer(token: string, fn: (url: string) => Promise<void>): Promise<void> {
  const server = new ExecServer();
  const listener = await listenWebSocket(server, {
    hostname: "127.0.0.1",
    port: 0,
    auth: { kind: "capability-token", sha256: await sha256(token) },
  });
  try {
    await fn(listener.url);
  } finally {
    await server.shutdown();
    await listener.close();
  }
}
