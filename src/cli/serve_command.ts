/**
 * `exec-server serve`: run the server over stdio or WebSocket until stdin ends or a signal arrives.
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import { ExecServer } from "../server/exec_server.ts";
import { isLoopback, ListenUrlError, parseListenUrl } from "../server/listen_url.ts";
import type { ServerOptions } from "../server/options.ts";
import { serveStdio } from "../server/stdio_server.ts";
import { protectServerFile } from "../sandbox/mod.ts";
import { listenWebSocket } from "../server/websocket_listener.ts";
import { log, type LogFormat, type LogLevel, setLogFormat, setLogLevel } from "../util/log.ts";
import { logSettings } from "./log_settings.ts";
import { VERSION } from "../version.ts";
import { containmentMode } from "../process/containment.ts";
import { raiseFdLimit } from "../process/fd_limit.ts";
import { parseNumberOption, UsageError } from "./usage_error.ts";
import { parseAuth, resolveAdminAccess, resolveAuth, type ServeAuthSource } from "./serve_auth.ts";
import { parseRemoteFlags, REMOTE_OPTIONS, REMOTE_USAGE, type RemoteServeConfig } from "./remote_flags.ts";

export const SERVE_USAGE = `usage: exec-server [serve] [--listen URL] [options]

Serves the exec-server JSON-RPC API.

  --listen URL               stdio | ws://IP:PORT (default ws://127.0.0.1:0; port 0 picks a free port)
  --retention SECONDS        keep a closed process readable this long (default 30)
  --retain-bytes BYTES       output retained per process until acknowledged, decoded bytes (default 8388608)
  --terminate-grace SECONDS  SIGTERM-to-SIGKILL grace when terminating a process tree (default 2)
  --session-ttl SECONDS      keep a detached session this long before ending its processes (default 30)
  --resume-attached MODE     reject (default, as Codex) or takeover: resuming a session another live connection holds
  --max-message-bytes BYTES  largest incoming message (default 67108864)
  --max-processes N          processes (running or retained) per session (default 1024)
  --max-sessions N           sessions at once (default 1024)
  --max-connections N        WebSocket connections at once (default 512)
  --ws-ping-timeout SECONDS  WebSocket ping interval and pong deadline; 0 disables (default 30)
  --handshake-timeout SECONDS  close a connection that has not become a WebSocket by then (default 10; 0: never)
  --max-pending-handshakes N   connections not yet upgraded, at most; the oldest beyond are closed (default 128)
  --delivery-window BYTES    bytes that may sit between us and a client's reads (proxies buffer more):
                             a notification counts as read only after this much more was sent
                             (default: the kernel's tcp_wmem + tcp_rmem maxima; 0: written counts as read)
  --allow-origin ORIGIN      allow WebSocket upgrades from this browser Origin (repeatable)
  --ws-auth MODE             require "Authorization: Bearer <token>" on WebSocket upgrades; MODE is
                             capability-token (a fixed token) or signed-bearer-token (an HS256 JWT)
  --ws-token-file PATH       the token (first line of the file) for --ws-auth capability-token
  --ws-token-sha256 HEX      or only its SHA-256, so the token itself never sits on the host
  --ws-shared-secret-file PATH
                             the HS256 secret (trimmed file contents, at least 32 bytes) for
                             --ws-auth signed-bearer-token; the JWT must carry exp, nbf is honoured
  --ws-issuer ISSUER         signed-bearer-token: the iss claim must be ISSUER
  --ws-audience AUDIENCE     signed-bearer-token: the aud claim (string or array) must contain AUDIENCE
  --ws-max-clock-skew-seconds SECONDS
                             signed-bearer-token: leeway for exp and nbf (default 30)
  --allow-unauthenticated    allow listening on a non-loopback address without --ws-auth (dangerous)
  --admin-token-file PATH    open the operator's /admin/ surface (exec-server ps/logs/kill, /console) to
                             "Authorization: Bearer <first line of PATH>"; without it, /admin/ is open
                             only on a loopback listener without --ws-auth
  --tls-cert PATH            PEM certificate: serve wss:// (with --tls-key)
  --tls-key PATH             PEM private key for --tls-cert
  --max-spawn-rate N         process starts per second per connection (default 1000)
  --concurrent-requests N    run at most N requests of one connection at once; the others wait
                             in arrival order (default: no limit)
  --exit-on-stdin-close      exit (status 0) when stdin reaches EOF
                             (env CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE=true|false)
  --disable-http             refuse http/request
  --http-allow-host HOST     let http/request reach only these hosts (repeatable)
  --log-level LEVEL          debug | info | warn | error | silent (default warn; env EXEC_SERVER_LOG);
                             the startup line is written at every level but silent
  --log-format FORMAT        text | json: one JSON object per line (default text;
                             env EXEC_SERVER_LOG_FORMAT)
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
  "delivery-window": { type: "string" },
  "handshake-timeout": { type: "string" },
  "max-pending-handshakes": { type: "string" },
  "allow-origin": { type: "string", multiple: true },
  "ws-auth": { type: "string" },
  "ws-token-file": { type: "string" },
  "ws-token-sha256": { type: "string" },
  "ws-shared-secret-file": { type: "string" },
  "ws-issuer": { type: "string" },
  "ws-audience": { type: "string" },
  "ws-max-clock-skew-seconds": { type: "string" },
  "allow-unauthenticated": { type: "boolean" },
  "admin-token-file": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "max-spawn-rate": { type: "string" },
  "concurrent-requests": { type: "string" },
  "exit-on-stdin-close": { type: "boolean" },
  "disable-http": { type: "boolean" },
  "http-allow-host": { type: "string", multiple: true },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  ...REMOTE_OPTIONS,
} as const;

/** The serve command's parsed configuration. */
export interface ServeConfig {
  listen: string;
  options: Partial<ServerOptions>;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** WebSocket authentication source (resolved to a digest when serving). */
  auth: ServeAuthSource;
  allowUnauthenticated: boolean;
  /** `--admin-token-file`: the admin surface's credential. */
  adminTokenFile: string | null;
  tls: { certFile: string; keyFile: string } | null;
  /** Exit 0 once stdin reaches EOF (`--exit-on-stdin-close`). */
  exitOnStdinClose: boolean;
  /** `--remote`: serve through an environment registry instead of listening. */
  remote: RemoteServeConfig | null;
}

/** `--exit-on-stdin-close`, or its environment variable (`true` or `false`, as in the reference). */
const EXIT_ON_STDIN_CLOSE_ENV = "CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE";

function seconds(name: string, value: string | undefined): number | undefined {
  const n = parseNumberOption(name, value, SERVE_USAGE);
  return n === undefined ? undefined : Math.round(n * 1000);
}

function wholeBytes(name: string, value: string | undefined): number | undefined {
  const n = parseNumberOption(name, value, SERVE_USAGE);
  if (n !== undefined && !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name} expects a whole number of bytes, got \`${value}\``, SERVE_USAGE);
  }
  return n;
}

function count(name: string, value: string | undefined): number | undefined {
  const n = parseNumberOption(name, value, SERVE_USAGE);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new UsageError(`--${name} expects a positive integer, got \`${value}\``, SERVE_USAGE);
  }
  return n;
}

/** A whole number from 1 up, written in digits only (as the reference's `NonZeroUsize`). */
function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
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
  const { level: logLevel, format: logFormat } = logSettings(
    values["log-level"],
    values["log-format"],
    SERVE_USAGE,
  );
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
    deliveryWindowBytes: wholeBytes("delivery-window", values["delivery-window"]),
    handshakeTimeoutMs: seconds("handshake-timeout", values["handshake-timeout"]),
    maxPendingHandshakes: count("max-pending-handshakes", values["max-pending-handshakes"]),
    allowedOrigins: values["allow-origin"],
    maxSpawnRate: count("max-spawn-rate", values["max-spawn-rate"]),
    concurrentRequests: positiveInteger("concurrent-requests", values["concurrent-requests"]),
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
    // As Codex: a bad --listen is a plain error (exit 1), not a usage error.
    if (error instanceof ListenUrlError) throw new Error(error.message);
    throw error;
  }
  const auth = parseAuth(values, SERVE_USAGE);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key must be given together", SERVE_USAGE);
  }
  const tls = values["tls-cert"] ? { certFile: values["tls-cert"], keyFile: values["tls-key"]! } : null;
  if (values["admin-token-file"] !== undefined && (target.kind !== "websocket" || remote !== null)) {
    throw new UsageError("--admin-token-file needs a WebSocket --listen", SERVE_USAGE);
  }
  if (target.kind === "websocket") {
    if (target.secure && !tls) throw new UsageError(`${listen} needs --tls-cert and --tls-key`, SERVE_USAGE);
    if (!isLoopback(target.hostname) && auth.kind === "none" && !values["allow-unauthenticated"]) {
      throw new UsageError(
        `refusing to listen on ${target.hostname} without authentication: anyone who can reach it could run ` +
          "commands; add --ws-auth capability-token --ws-token-file PATH, or --ws-auth signed-bearer-token " +
          "--ws-shared-secret-file PATH (or --allow-unauthenticated)",
        SERVE_USAGE,
      );
    }
  }
  return {
    listen,
    options,
    logLevel,
    logFormat,
    auth,
    allowUnauthenticated: values["allow-unauthenticated"] ?? false,
    adminTokenFile: values["admin-token-file"] ?? null,
    tls,
    exitOnStdinClose: values["exit-on-stdin-close"] ?? exitOnStdinCloseFromEnv(),
    // The flag (or its environment variable) also ends a remote registration on stdin EOF.
    remote: remote &&
      { ...remote, exitOnStdinClose: values["exit-on-stdin-close"] ?? exitOnStdinCloseFromEnv() },
  };
}

function exitOnStdinCloseFromEnv(): boolean {
  const value = Deno.env.get(EXIT_ON_STDIN_CLOSE_ENV);
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new UsageError(`${EXIT_ON_STDIN_CLOSE_ENV} expects true or false, got \`${value}\``, SERVE_USAGE);
}

/** Runs the server until it is told to stop; returns the exit status. */
export async function runServe(config: ServeConfig): Promise<number> {
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat);
  // Idle sockets, child pipes and open files all count against it; a shell's 1024 default is easily reached.
  raiseFdLimit();
  const server = new ExecServer(config.options);
  const target = parseListenUrl(config.listen);
  // Containment is set up while descriptors are free (the keeper's pipe is opened once), before any client
  // can connect. Over stdio only one client ever comes: there it waits until its first initialize is
  // answered, off the cold start (the first cgroup move waits for an RCU grace period: 10-15 ms). A
  // process/start arriving sooner sets it up itself.
  const containment = () => log.info(`process trees contained by ${containmentMode()}`);
  if (target.kind === "stdio") server.firstClient.then(containment);
  else containment();
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  // Over stdio, EOF on stdin already ends the server; with --remote, the registration loop watches it.
  if (config.exitOnStdinClose && target.kind !== "stdio" && config.remote === null) {
    stdinClosed().then(() => {
      log.info("stdin closed (--exit-on-stdin-close): shutting down");
      stop.resolve();
    });
  }
  try {
    if (config.remote) {
      // On demand: a plain `serve` does not load the relay and Noise code.
      const { runRemoteServe } = await import("./remote_serve.ts");
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
      log.announce("started", { version: VERSION, listen: "stdio", auth: "none" });
      await Promise.race([serveStdio(server), stop.promise]);
    } else {
      const auth = await resolveAuth(config.auth, SERVE_USAGE);
      // The token file and the TLS key are masked inside every sandbox this server creates.
      if (config.auth.kind === "token-file") protectServerFile(config.auth.path);
      if (config.auth.kind === "signed-bearer-token") protectServerFile(config.auth.secretFile);
      if (config.tls) protectServerFile(config.tls.keyFile);
      const admin = await resolveAdminAccess(config.adminTokenFile, auth, isLoopback(target.hostname));
      if (config.adminTokenFile !== null) protectServerFile(config.adminTokenFile);
      if (auth.kind === "none" && !isLoopback(target.hostname)) {
        log.announce(
          `WARNING: listening on ${target.hostname} WITHOUT AUTHENTICATION (--allow-unauthenticated): ` +
            "anyone who can reach this port can run commands as this user",
          undefined,
          "warn",
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
        admin,
        tls,
      });
      log.announce("started", { version: VERSION, listen: listener.url, auth: auth.kind });
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

/** Resolves when stdin reaches EOF or cannot be read; what it carries is discarded. */
async function stdinClosed(): Promise<void> {
  try {
    for await (const _ of Deno.stdin.readable) { /* discard */ }
  } catch {
    // Unreadable (closed descriptor): as good as EOF.
  }
}

async function writeStdoutLine(line: string): Promise<void> {
  const bytes = new TextEncoder().encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}
