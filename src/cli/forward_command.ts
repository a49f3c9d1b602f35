/**
 * `exec-server forward`: register an existing WebSocket exec-server (ours or Codex's) with an environment
 * registry, as `codex exec-server forward` does. Each authenticated harness stream gets its own new
 * WebSocket to `--connect`, and the decrypted JSON-RPC messages are relayed both ways unchanged (the harness's
 * `initialize` arrives first), so sessions, resumption and limits are the backend's.
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import { UsageError } from "./usage_error.ts";
import { parseRemoteFlags } from "./remote_flags.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import { log, type LogLevel, setLogLevel } from "../util/log.ts";

export const FORWARD_USAGE =
  `usage: exec-server forward --remote URL --environment-id ID --connect ws://HOST:PORT [options]

Registers an existing WebSocket exec-server with an environment registry: every harness stream that reaches
this environment through the relay (Noise, end-to-end encrypted) is forwarded over its own new WebSocket to
--connect. The backend sees ordinary unauthenticated connections from this host; keep it on loopback.

  --remote URL                 the environment registry (http(s)://)
  --environment-id ID          the environment to register as
  --connect URL                the exec-server to forward to (ws:// or wss://)
  --name NAME                  human-readable environment name (kept locally)
  --registration-bearer-stdin  read the registration bearer as one line from stdin (else CODEX_API_KEY)
  --exit-on-stdin-close        exit when standard input closes
  --log-level LEVEL            debug | info | warn | error | silent (default warn)
  -h, --help                   show this help`;

const OPTIONS = {
  remote: { type: "string" },
  "environment-id": { type: "string" },
  connect: { type: "string" },
  name: { type: "string" },
  "registration-bearer-stdin": { type: "boolean" },
  "exit-on-stdin-close": { type: "boolean" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Pipes one harness stream to a fresh backend WebSocket; either side closing closes the other. */
export function forwardStream(stream: MessageTransport, backendUrl: string): void {
  const socket = new WebSocket(backendUrl);
  const queued: string[] = [];
  const encoder = new TextEncoder();
  let open = false;
  stream.start({
    onMessage: (text) => {
      if (open) socket.send(encoder.encode(text));
      else queued.push(text);
    },
    onFramingError: (reason) => log.warn(`forward: dropping a message from the harness: ${reason}`),
    onClose: () => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
    },
  });
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    open = true;
    for (const text of queued.splice(0)) socket.send(encoder.encode(text));
  };
  const decoder = new TextDecoder();
  socket.onmessage = (event) =>
    stream.send(typeof event.data === "string" ? event.data : decoder.decode(event.data as ArrayBuffer));
  socket.onerror = (event) => log.warn(`forward: ${backendUrl}: ${(event as ErrorEvent).message}`);
  socket.onclose = () => stream.close("backend exec-server closed the connection");
}

/** Runs `exec-server forward`; returns the exit status. */
export async function runForwardCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message, FORWARD_USAGE);
  }
  if (values.help) {
    console.log(FORWARD_USAGE);
    return 0;
  }
  const remote = parseRemoteFlags(values, FORWARD_USAGE);
  if (!remote) throw new UsageError("forward needs --remote URL", FORWARD_USAGE);
  const connect = values.connect;
  if (connect === undefined) throw new UsageError("forward needs --connect ws://HOST:PORT", FORWARD_USAGE);
  if (!/^wss?:\/\//.test(connect)) {
    throw new UsageError(`--connect expects a ws:// or wss:// URL, got \`${connect}\``, FORWARD_USAGE);
  }
  const logLevel = (values["log-level"] ?? "warn") as LogLevel;
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw new UsageError(
      `--log-level expects debug, info, warn, error or silent, got \`${logLevel}\``,
      FORWARD_USAGE,
    );
  }
  setLogLevel(logLevel);
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const { runRemoteServe } = await import("./remote_serve.ts");
    return await runRemoteServe({ accept: (stream) => forwardStream(stream, connect) }, remote, stop.promise);
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}
