/**
 * One execution environment: `local` (an in-process exec-server behind an in-memory transport, so local
 * and remote share one code path) or a configured remote reached over WebSocket or a stdio command. Its
 * one lazy client is shared by everything that runs there (processes, fs, http).
 *
 * The client library never loads the server (nor its FFI and bubblewrap code): whoever may import the
 * server injects the in-process one as {@link EnvironmentOptions.localServer}, as the CLI does.
 *
 * @module
 */
import type { EnvironmentConfig, WebSocketEnvironmentConfig } from "../config/environments_toml.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import { EnvironmentStatus } from "../protocol/methods.ts";
import { ExecServerClientError } from "./client_error.ts";
import type { ExecServerTransportParams } from "./connector.ts";
import { ExecServerClient, type ExecServerClientOptions } from "./exec_server_client.ts";
import { LazyRemoteClient } from "./lazy_remote_client.ts";
import { createMemoryTransportPair } from "./memory_transport.ts";

/** How long {@link Environment.status} waits for the current connection's `environment/status`. */
const STATUS_PROBE_TIMEOUT_MS = 5_000;

/** The in-process exec-server behind the `local` environment; an `ExecServer` is one. */
export interface LocalExecServer {
  /** Serves one connection over `transport` (the server side of an in-memory pair). */
  accept(transport: MessageTransport): unknown;
  /** Closes its connections and terminates every process it started. */
  shutdown(): Promise<void>;
}

/** Options shared by every environment of a manager. */
export interface EnvironmentOptions extends ExecServerClientOptions {
  /**
   * Creates the in-process server of the `local` environment, once, on its first connect: e.g.
   * `() => new ExecServer(serverOptions)`. Without it, connecting to `local` fails (kind `connect`).
   */
  localServer?: () => LocalExecServer;
  /** Where `auth_token_env` names are looked up (default: the process environment). */
  env?: Record<string, string | undefined>;
}

/** An environment and its lazily connected client. */
export class Environment {
  /** The environment id (`local` for the built-in one). */
  readonly id: string;
  /** The configuration of a remote environment; `null` for `local`. */
  readonly config: EnvironmentConfig | null;
  readonly #lazy: LazyRemoteClient;
  #localServer: LocalExecServer | null = null;

  /** Creates an environment; `config` null means the in-process `local` environment. */
  constructor(id: string, config: EnvironmentConfig | null, options: EnvironmentOptions = {}) {
    this.id = id;
    this.config = config;
    this.#lazy = new LazyRemoteClient(async () => {
      const params = config === null ? this.#localTransport(options) : await transportParams(config, options);
      const initializeTimeoutMs = config?.initializeTimeoutMs ?? options.initializeTimeoutMs;
      return await ExecServerClient.connect(params, { ...options, initializeTimeoutMs });
    });
  }

  /** True for the built-in in-process environment. */
  get isLocal(): boolean {
    return this.config === null;
  }

  /** Where it runs: `in-process`, the WebSocket URL, or the stdio command line. */
  get target(): string {
    const config = this.config;
    if (config === null) return "in-process";
    if (config.kind === "websocket") return config.url;
    if (config.kind === "registry") return `${config.registryUrl} (environment ${config.environmentId})`;
    return [config.program, ...config.args].join(" ");
  }

  /** The environment's client, connecting on first use (and after a WebSocket disconnect). */
  client(): Promise<ExecServerClient> {
    return this.#lazy.get();
  }

  /**
   * What Codex's app-server reports as `environment/status`, observed without connecting or recovering:
   * `ready` for `local` or when the current connection answers `environment/status`; `pending` before any
   * connection (or while the first one is being made); `disconnected` with the reason after a failed connect
   * or a lost connection (the next use reconnects).
   */
  async status(): Promise<{ status: "ready" | "pending" | "disconnected"; error?: string }> {
    if (this.isLocal) return { status: "ready" };
    const client = this.#lazy.current;
    if (client && !client.isDisconnected) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          client.request(EnvironmentStatus, null),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error("environment/status timed out")),
              STATUS_PROBE_TIMEOUT_MS,
            );
          }),
        ]);
        return { status: "ready" };
      } catch (error) {
        return { status: "disconnected", error: (error as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }
    if (client) {
      return { status: "disconnected", error: "exec-server connection lost; the next use reconnects" };
    }
    const failure = this.#lazy.lastError;
    if (failure && !this.#lazy.isConnecting) return { status: "disconnected", error: failure.message };
    return { status: "pending" };
  }

  /** The lazy client itself (connect count, current client). */
  get lazyClient(): LazyRemoteClient {
    return this.#lazy;
  }

  /** Closes the client (terminating a stdio child) and, for `local`, the in-process server's processes. */
  async close(): Promise<void> {
    await this.#lazy.close();
    await this.#localServer?.shutdown();
  }

  #localTransport(options: EnvironmentOptions): ExecServerTransportParams {
    if (options.localServer === undefined) {
      throw new ExecServerClientError(
        "connect",
        "the `local` environment has no in-process server: pass `localServer` (e.g. `() => new ExecServer()`) " +
          "in the environment options",
      );
    }
    this.#localServer ??= options.localServer();
    const server = this.#localServer;
    return {
      kind: "transport",
      description: "local exec-server",
      reconnectable: true,
      open: () => {
        const [clientSide, serverSide] = createMemoryTransportPair("local exec-server");
        server.accept(serverSide);
        return clientSide;
      },
    };
  }
}

/** Transport parameters of a configured remote, reading extension secrets at connect time. */
async function transportParams(
  config: EnvironmentConfig,
  options: EnvironmentOptions,
): Promise<ExecServerTransportParams> {
  if (config.kind === "registry") {
    return {
      kind: "transport",
      description: `remote environment ${config.environmentId}`,
      reconnectable: true,
      // Each connect asks the registry again: a fresh authorization and a new Noise stream. The relay and
      // Noise code (and its crypto tables) loads on first use, not with every program that has a client.
      open: async () =>
        (await import("../remote/relay_harness.ts")).connectRelayHarness({
          registryUrl: config.registryUrl,
          environmentId: config.environmentId,
          authToken: config.authToken,
          accountId: config.accountId,
          timeoutMs: config.connectTimeoutMs,
        }),
    };
  }
  if (config.kind === "stdio") {
    return {
      kind: "stdio",
      command: { program: config.program, args: config.args, env: config.env, cwd: config.cwd },
    };
  }
  const headers: Record<string, string> = {};
  const token = await readAuthToken(config, options);
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const caCertificates = config.tlsCaFile === undefined
    ? undefined
    : [await readFileFor(config, config.tlsCaFile)];
  return {
    kind: "websocket",
    url: config.url,
    connectTimeoutMs: config.connectTimeoutMs,
    headers,
    caCertificates,
  };
}

async function readAuthToken(
  config: WebSocketEnvironmentConfig,
  options: EnvironmentOptions,
): Promise<string | null> {
  const source = config.authToken;
  if (source === undefined) return null;
  if ("value" in source) return source.value;
  if ("file" in source) return (await readFileFor(config, source.file)).trim();
  const value = (options.env ?? Deno.env.toObject())[source.env];
  if (value === undefined || value.trim() === "") {
    throw new ExecServerClientError(
      "connect",
      `environment \`${config.id}\` auth token variable \`${source.env}\` is not set`,
    );
  }
  return value.trim();
}

async function readFileFor(config: WebSocketEnvironmentConfig, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ExecServerClientError(
      "connect",
      `environment \`${config.id}\`: failed to read \`${path}\`: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
