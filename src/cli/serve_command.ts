/**
 * `exec-server serve`: run the server over stdio or WebSocket until stdin ends or a signal arrives.
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import { ExecServer } from "../server/exec_server.ts";
import { isLoopback, ListenUrlError, parseListenUrl } from "../server/listen_url.ts";
import { parseSha256Hex, tokenDigestFromFile, type WebSocketAuth } from "../server/ws_auth.ts";
import type { ServerOptions } from "../server/options.ts";
import { serveStdio } from "../server/stdio_server.ts";
import { protectServerFile } from "../sandbox/mod.ts";
import { listenWebSocket } from "../server/websocket_listener.ts";
import { log, type LogLevel, setLogLevel } from "../util/log.ts";
import { containmentMode } from "../process/containment.ts";
import { raiseFdLimit } from "../process/fd_limit.ts";
import { parseNumberOption, UsageError } from "./usage_error.ts";
import {
  parseRemoteFlags,
  REMOTE_OPTIONS,
  REMOTE_USAGE,
  type RemoteServeConfig,
  runRemoteServe,
} from "./remote_serve.ts";

export const SERVE_USAGE = `usage: exec-server [serve] [--listen URL] [options]

Serves the exec-server JSON-RPC API.

  --listen URL               stdio | ws://IP:PORT (default ws://127.0.0.1:0; port 0 picks a free port)
  --retention SECONDS        keep a closed process readable this long (default 30)
  --retain-bytes BYTES       retained output per process, in decoded bytes (default 8388608)
  --terminate-grace SECONDS  SIGTERM-to-SIGKILL grace when terminating a process tree (default 2)
  --session-ttl SECONDS      keep a detached session this long before ending its processes (default 30)
  --resume-attached MODE     takeover (default) or reject: resuming a session another connection holds
  --max-message-bytes BYTES  largest incoming message (default 67108864)
  --max-processes N          processes (running or retained) per session (default 1024)
  --max-sessions N           sessions at once (default 1024)
  --max-connections N        WebSocket connections at once (default 512)
  --ws-ping-timeout SECONDS  WebSocket ping interval and pong deadline; 0 disables (default 30)
  --allow-origin ORIGIN      allow WebSocket upgrades from this browser Origin (repeatable)
  --ws-auth MODE             capability-token: require "Authorization: Bearer <token>" on WebSocket upgrades
  --ws-token-file PATH       the token (first line of the file) for --ws-auth capability-token
  --ws-token-sha256 HEX      or only its SHA-256, so the token itself never sits on the host
  --allow-unauthenticated    allow listening on a non-loopback address without --ws-auth (dangerous)
  --tls-cert PATH            PEM certificate: serve wss:// (with --tls-key)
  --tls-key PATH             PEM private key for --tls-cert
  --max-spawn-rate N         process starts per second per connection (default 1000)
  --disable-http             refuse http/request
  --http-allow-host HOST     let http/request reach only these hosts (repeatable)
  --log-level LEVEL          debug | info | warn | error | silent (default warn)
  -h, --help                 show this help
  -V, --version              print the version
${REMOTE_USAGE}`;

const OPTIONS = {
  listen: { type: "string" },
  retention: { type: "string" },
  "retain-bytes": { type: "string" },
  "terminate-grace": { type: "string" },
  "session-ttl": { type: "string" },
  "resume-attached": { type: "string" },
  "max-message-bytes": { type: "string" },
  "max-processes": { type: "string" },
  "max-sessions": { type: "string" },
  "max-connections": { type: "string" },
  "ws-ping-timeout": { type: "string" },
  "allow-origin": { type: "string", multiple: true },
  "ws-auth": { type: "string" },
  "ws-token-file": { type: "string" },
  "ws-token-sha256": { type: "string" },
  "allow-unauthenticated": { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "max-spawn-rate": { type: "string" },
  "disable-http": { type: "boolean" },
  "http-allow-host": { type: "string", multiple: true },
  "log-level": { type: "string" },
  ...REMOTE_OPTIONS,
} as const;

/** The serve command's parsed configuration. */
export interface ServeConfig {
  listen: string;
  options: Partial<ServerOptions>;
  logLevel: LogLevel;
  /** WebSocket authentication source (resolved to a digest when serving). */
  auth: { kind: "none" } | { kind: "token-file"; path: string } | { kind: "token-sha256"; hex: string };
  allowUnauthenticated: boolean;
  tls: { certFile: string; keyFile: string } | null;
  /** `--remote`: serve through an environment registry instead of listening. */
  remote: RemoteServeConfig | null;
}

function seconds(name: string, value: string | undefined): number | undefined {
  const n = parseNumberOption(name, value, SERVE_USAGE);
  return n === undefined ? undefined : Math.round(n * 1000);
}

function count(name: string, value: string | undefined): number | undefined {
  const n = parseNumberOption(name, value, SERVE_USAGE);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new UsageError(`--${name} expects a positive integer, got \`${value}\``, SERVE_USAGE);
  }
  return n;
}

/** Parses serve arguments (after the optional `serve` word). */
export function parseServeArgs(args: string[]): ServeConfig {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message, SERVE_USAGE);
  }
  const resumeAttached = values["resume-attached"];
  if (resumeAttached !== undefined && resumeAttached !== "takeover" && resumeAttached !== "reject") {
    throw new UsageError(
      `--resume-attached expects takeover or reject, got \`${resumeAttached}\``,
      SERVE_USAGE,
    );
  }
  const logLevel = (values["log-level"] ?? "warn") as LogLevel;
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw new UsageError(
      `--log-level expects debug, info, warn, error or silent, got \`${logLevel}\``,
      SERVE_USAGE,
    );
  }
  const options: Partial<ServerOptions> = {
    retentionMs: seconds("retention", values.retention),
    retainBytes: count("retain-bytes", values["retain-bytes"]),
    terminateGraceMs: seconds("terminate-grace", values["terminate-grace"]),
    sessionTtlMs: seconds("session-ttl", values["session-ttl"]),
    resumeAttached,
    maxMessageBytes: count("max-message-bytes", values["max-message-bytes"]),
    maxProcessesPerSession: count("max-processes", values["max-processes"]),
    maxSessions: count("max-sessions", values["max-sessions"]),
    maxConnections: count("max-connections", values["max-connections"]),
    wsPingTimeoutSec: parseNumberOption("ws-ping-timeout", values["ws-ping-timeout"], SERVE_USAGE),
    allowedOrigins: values["allow-origin"],
    maxSpawnRate: count("max-spawn-rate", values["max-spawn-rate"]),
    httpDisabled: values["disable-http"],
    httpAllowHosts: values["http-allow-host"],
  };
  for (const key of Object.keys(options) as (keyof ServerOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  const remote = parseRemoteFlags(values, SERVE_USAGE);
  const listen = values.listen ?? "ws://127.0.0.1:0";
  let target;
  try {
    target = parseListenUrl(listen);
  } catch (error) {
    if (error instanceof ListenUrlError) throw new UsageError(error.message, SERVE_USAGE);
    throw error;
  }
  const auth = parseAuth(values["ws-auth"], values["ws-token-file"], values["ws-token-sha256"]);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key must be given together", SERVE_USAGE);
  }
  const tls = values["tls-cert"] ? { certFile: values["tls-cert"], keyFile: values["tls-key"]! } : null;
  if (target.kind === "websocket") {
    if (target.secure && !tls) throw new UsageError(`${listen} needs --tls-cert and --tls-key`, SERVE_USAGE);
    if (!isLoopback(target.hostname) && auth.kind === "none" && !values["allow-unauthenticated"]) {
      throw new UsageError(
        `refusing to listen on ${target.hostname} without authentication: anyone who can reach it could run ` +
          "commands; add --ws-auth capability-token --ws-token-file PATH (or --allow-unauthenticated)",
        SERVE_USAGE,
      );
    }
  }
  return {
    listen,
    options,
    logLevel,
    auth,
    allowUnauthenticated: values["allow-unauthenticated"] ?? false,
    tls,
    remote,
  };
}

function parseAuth(mode: string | undefined, tokenFile: string | undefined, tokenSha256: string | undefined) {
  if (mode === undefined || mode === "none") {
    if (tokenFile !== undefined || tokenSha256 !== undefined) {
      throw new UsageError(
        "--ws-token-file and --ws-token-sha256 need --ws-auth capability-token",
        SERVE_USAGE,
      );
    }
    return { kind: "none" } as const;
  }
  if (mode !== "capability-token") {
    throw new UsageError(`--ws-auth expects capability-token or none, got \`${mode}\``, SERVE_USAGE);
  }
  if ((tokenFile === undefined) === (tokenSha256 === undefined)) {
    throw new UsageError(
      "--ws-auth capability-token needs exactly one of --ws-token-file or --ws-token-sha256",
      SERVE_USAGE,
    );
  }
  if (tokenSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(tokenSha256)) {
    throw new UsageError("--ws-token-sha256 expects 64 hexadecimal characters", SERVE_USAGE);
  }
  return tokenFile !== undefined
    ? { kind: "token-file", path: tokenFile } as const
    : { kind: "token-sha256", hex: tokenSha256! } as const;
}

async function resolveAuth(auth: ServeConfig["auth"]): Promise<WebSocketAuth> {
  switch (auth.kind) {
    case "none":
      return { kind: "none" };
    case "token-file":
      return { kind: "capability-token", sha256: await tokenDigestFromFile(auth.path) };
    case "token-sha256":
      return { kind: "capability-token", sha256: parseSha256Hex(auth.hex) };
  }
}

/** Runs the server until it is told to stop; returns the exit status. */
export async function runServe(config: ServeConfig): Promise<number> {
  setLogLevel(config.logLevel);
  // Idle sockets, child pipes and open files all count against it; a shell's 1024 default is easily reached.
  raiseFdLimit();
  // Set up now, while descriptors are free: the keeper's pipe is opened once, before any client can connect.
  log.info(`process trees contained by ${containmentMode()}`);
  const server = new ExecServer(config.options);
  const target = parseListenUrl(config.listen);
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    if (config.remote) {
      const status = await runRemoteServe(
        server,
        config.remote,
        stop.promise,
        config.options.maxMessageBytes,
      );
      await server.shutdown();
      return status;
    }
    if (target.kind === "stdio") {
      await Promise.race([serveStdio(server), stop.promise]);
    } else {
      const auth = await resolveAuth(config.auth);
      // The token file and the TLS key are masked inside every sandbox this server creates.
      if (config.auth.kind === "token-file") protectServerFile(config.auth.path);
      if (config.tls) protectServerFile(config.tls.keyFile);
      if (auth.kind === "none" && !isLoopback(target.hostname)) {
        console.error(
          `exec-server WARNING: listening on ${target.hostname} WITHOUT AUTHENTICATION (--allow-unauthenticated): ` +
            "anyone who can reach this port can run commands as this user",
        );
      }
      const tls = config.tls
        ? {
          cert: await Deno.readTextFile(config.tls.certFile),
          key: await Deno.readTextFile(config.tls.keyFile),
        }
        : undefined;
      const listener = await listenWebSocket(server, {
        hostname: target.hostname,
        port: target.port,
        auth,
        tls,
      });
      await writeStdoutLine(listener.url);
      await stop.promise;
      await listener.close();
    }
    await server.shutdown();
    return 0;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

async function writeStdoutLine(line: string): Promise<void> {
  const bytes = new TextEncoder().encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}
