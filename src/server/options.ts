/**
 * Server tunables with their defaults. Every limit is configurable from the CLI.
 *
 * @module
 */

/** What a server instance is allowed to do and how long it keeps things. */
export interface ServerOptions {
  /** How long a closed process stays readable before eviction. */
  retentionMs: number;
  /** Bound on each process's retained output (decoded bytes). */
  retainBytes: number;
  /** SIGTERM-to-SIGKILL grace when terminating a process tree. */
  terminateGraceMs: number;
  /** How long `exited` waits for a child's pipes to drain. */
  exitDrainMs: number;
  /** How long a detached session lives before its processes are terminated. */
  sessionTtlMs: number;
  /** Resume of a session another live connection holds: refuse (default, as Codex does) or take it over. */
  resumeAttached: "takeover" | "reject";
  /** Largest incoming message. */
  maxMessageBytes: number;
  /** Processes (running or retained) per session. */
  maxProcessesPerSession: number;
  /** Sessions alive at once (attached or detached). */
  maxSessions: number;
  /** WebSocket connections open at once. */
  maxConnections: number;
  /** WebSocket: ping interval and pong deadline, seconds (0 disables). */
  wsPingTimeoutSec: number;
  /**
   * WebSocket: bytes that may sit between us and the client's reads; a notification counts as read
   * once this much more has left our queue. null: one TCP hop's kernel buffers (`tcp_wmem` + `tcp_rmem`
   * maxima). 0 counts written as read (the old behaviour: a drop may lose what was in flight).
   */
  deliveryWindowBytes: number | null;
  /** WebSocket: a connection not upgraded within this long is closed (0: never). */
  handshakeTimeoutMs: number;
  /** WebSocket: connections not yet upgraded, at most; the oldest beyond it are closed. */
  maxPendingHandshakes: number;
  /** Browser origins allowed to open a WebSocket (none by default). */
  allowedOrigins: string[];
  /** Process starts allowed per second on one connection (burst of the same size). */
  maxSpawnRate: number;
  /** Requests of one connection that run at once (the rest wait in arrival order); null: no limit. */
  concurrentRequests: number | null;
  /** `http/request` switched off. */
  httpDisabled: boolean;
  /** When set, `http/request` may only reach these hosts. */
  httpAllowHosts: string[] | null;
}

/** Defaults (see README "Configuration"). */
export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  retentionMs: 30_000,
  retainBytes: 8 * 1024 * 1024,
  terminateGraceMs: 2_000,
  exitDrainMs: 100,
  sessionTtlMs: 30_000,
  resumeAttached: "reject",
  maxMessageBytes: 64 * 1024 * 1024,
  maxProcessesPerSession: 1024,
  maxSessions: 1024,
  maxConnections: 512,
  wsPingTimeoutSec: 30,
  deliveryWindowBytes: null,
  handshakeTimeoutMs: 10_000,
  maxPendingHandshakes: 128,
  allowedOrigins: [],
  maxSpawnRate: 1000,
  concurrentRequests: null,
  httpDisabled: false,
  httpAllowHosts: null,
};
