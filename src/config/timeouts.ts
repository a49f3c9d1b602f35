/**
 * Codex's default client timeouts, used by `environments.toml` resolution and by the client library (a
 * module of its own so the client does not load the TOML parser for two numbers).
 *
 * @module
 */

/** Default websocket connect timeout (Codex: 10 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default `initialize` handshake timeout, both transports (Codex: 10 s). */
export const DEFAULT_INITIALIZE_TIMEOUT_MS = 10_000;
