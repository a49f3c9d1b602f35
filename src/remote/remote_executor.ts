/**
 * `serve --remote`: register with an environment registry and serve the JSON-RPC API over an outbound
 * rendezvous WebSocket. The first registration failing is fatal ({@link RegistryError}); after that a dropped
 * socket is reopened to the same URL with jittered exponential backoff, and a 4xx refusal of the upgrade
 * (an expired or moved route) registers again before the next try.
 *
 * - noise: one socket carries any number of harness streams ({@link NoiseRendezvous}).
 * - direct: plain JSON-RPC text frames, one socket per session; an idle socket waits for the next harness,
 *   and a fresh one is opened as soon as a harness starts talking on it. Authenticated with the bearer (ours).
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import { WebSocketTransport } from "../rpc/websocket_transport.ts";
import { log } from "../util/log.ts";
import { generateNoiseIdentity, publicKeys, publicKeyToJson } from "./noise_channel.ts";
import type { NoiseKeys } from "./noise_handshake.ts";
import { NoiseRendezvous } from "./noise_rendezvous.ts";
import { registerDirect, registerNoise, type Registration, validateHarnessKey } from "./registry.ts";
import { signV4, type SigV4Config } from "./sigv4.ts";

export type RemoteTransportKind = "noise" | "direct";

/** How to register and what to serve. */
export interface RemoteExecutorOptions {
  registryUrl: string;
  environmentId: string;
  /** The registration bearer (`--registration-bearer-stdin` or `CODEX_API_KEY`). */
  bearer: string;
  transport: RemoteTransportKind;
  /** Direct only: sign the registration and the upgrade with AWS SigV4 instead of sending the bearer. */
  sigv4?: SigV4Config;
  /** Serves one harness connection (an `ExecServer.accept`). */
  accept(transport: MessageTransport): void;
  /** First reconnect delay before jitter (default 1000 ms); doubles up to {@link maxBackoffMs}. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxMessageBytes?: number;
  /** Called after each successful registration and each opened rendezvous socket (diagnostics, tests). */
  onEvent?(event: "registered" | "connected" | "disconnected"): void;
}

/** The delay before reconnect attempt `attempt` (0-based): base·2^attempt, capped, times 0.5–1.5. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + Math.random()));
}

function requestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Why a rendezvous socket ended. */
interface SocketOutcome {
  opened: boolean;
  /** The HTTP status of a refused upgrade, when the socket never opened. */
  refusedStatus: number | null;
  /** Direct: a harness took this socket over; open the next idle one without waiting. */
  handedOff?: boolean;
}

/** A registered executor; {@link run} serves until the signal aborts. */
export class RemoteExecutor {
  readonly #options: RemoteExecutorOptions;
  readonly #identity: NoiseKeys;
  #registration: Registration | null = null;

  constructor(options: RemoteExecutorOptions) {
    this.#options = options;
    this.#identity = generateNoiseIdentity();
  }

  async #register(): Promise<Registration> {
    const { registryUrl, environmentId, bearer, transport } = this.#options;
    const registration = transport === "noise"
      ? await registerNoise(registryUrl, environmentId, bearer, publicKeyToJson(publicKeys(this.#identity)))
      : await registerDirect(
        registryUrl,
        environmentId,
        this.#options.sigv4 ? { sigv4: this.#options.sigv4 } : bearer,
      );
    this.#registration = registration;
    log.info(`registered environment ${environmentId} (${transport}); rendezvous ${registration.url}`);
    this.#options.onEvent?.("registered");
    return registration;
  }

  /** Registers (a failure here throws: the caller exits), then keeps the rendezvous socket up. */
  async run(signal: AbortSignal): Promise<void> {
    let registration = await this.#register();
    const initial = this.#options.initialBackoffMs ?? 1000;
    const max = this.#options.maxBackoffMs ?? 30_000;
    let attempt = 0;
    while (!signal.aborted) {
      const outcome = this.#options.transport === "noise"
        ? await this.#noiseSocket(registration, signal)
        : await this.#directSocket(registration, signal);
      if (signal.aborted) break;
      if (outcome.opened) attempt = 0;
      if (outcome.handedOff) continue;
      const delay = backoffDelay(attempt++, initial, max);
      log.info(`rendezvous socket ended; reconnecting in ${delay} ms`);
      if (!await sleep(delay, signal)) break;
      if (outcome.refusedStatus !== null && outcome.refusedStatus >= 400 && outcome.refusedStatus < 500) {
        try {
          registration = await this.#register();
        } catch (error) {
          log.warn(`re-registration failed: ${(error as Error).message}`);
        }
      }
    }
  }

  #open(url: string, headers: Record<string, string>): WebSocket {
    // deno-lint-ignore no-explicit-any
    const socket = new WebSocket(url, { headers } as any);
    socket.binaryType = "arraybuffer";
    return socket;
  }

  #noiseSocket(registration: Registration, signal: AbortSignal): Promise<SocketOutcome> {
    const { registryUrl, environmentId, bearer } = this.#options;
    const socket = this.#open(registration.url, { "x-request-id": requestId() });
    const rendezvous = new NoiseRendezvous(socket, {
      environmentId,
      registrationId: registration.registrationId,
      identity: this.#identity,
      validate: (streamId, harnessKey, authorization) =>
        validateHarnessKey(registryUrl, environmentId, bearer, streamId, {
          registrationId: registration.registrationId,
          harnessKey,
          authorization,
        }),
      accept: (transport) => this.#options.accept(transport),
    });
    return this.#watch(socket, signal, {
      onMessage: (data) => {
        if (typeof data !== "string") rendezvous.onMessage(new Uint8Array(data));
      },
      onClose: (reason) => rendezvous.onClose(reason),
    });
  }

  #directSocket(registration: Registration, signal: AbortSignal): Promise<SocketOutcome> {
    const sigv4 = this.#options.sigv4;
    const auth = sigv4
      ? signV4({ method: "GET", url: new URL(registration.url) }, sigv4)
      : { authorization: `Bearer ${this.#options.bearer}` };
    const socket = this.#open(registration.url, { "x-request-id": requestId(), ...auth });
    const active = Promise.withResolvers<void>();
    const outcome = this.#watch(socket, signal, {
      onOpen: () => {
        const transport = new WebSocketTransport(socket, {
          description: `remote environment ${this.#options.environmentId}`,
          maxMessageBytes: this.#options.maxMessageBytes,
        });
        socket.addEventListener("message", () => active.resolve(), { once: true });
        this.#options.accept(transport);
      },
      onMessage: () => {},
      onClose: () => {},
    });
    // Once a harness talks on this socket it is its session's; the loop opens the next idle one at once.
    return Promise.race([
      outcome,
      active.promise.then(() => ({ opened: true, refusedStatus: null, handedOff: true })),
    ]);
  }

  #watch(
    socket: WebSocket,
    signal: AbortSignal,
    handlers: { onOpen?(): void; onMessage(data: ArrayBuffer | string): void; onClose(reason: string): void },
  ): Promise<SocketOutcome> {
    const done = Promise.withResolvers<SocketOutcome>();
    let opened = false;
    let refusedStatus: number | null = null;
    const onAbort = () => socket.close(1000, "exec-server shutting down");
    signal.addEventListener("abort", onAbort);
    socket.addEventListener("open", () => {
      opened = true;
      log.info(`connected to the rendezvous socket ${this.#registration?.url}`);
      this.#options.onEvent?.("connected");
      handlers.onOpen?.();
    });
    socket.addEventListener("message", (event) => handlers.onMessage(event.data));
    socket.addEventListener("error", (event) => {
      const message = (event as ErrorEvent).message ?? "";
      const status = message.match(/status code:? (\d{3})/i);
      if (status) refusedStatus = Number(status[1]);
      if (!opened) log.warn(`rendezvous connection failed: ${message}`);
    });
    socket.addEventListener("close", (event) => {
      signal.removeEventListener("abort", onAbort);
      const reason = `relay WebSocket closed (${event.code}${event.reason ? `: ${event.reason}` : ""})`;
      handlers.onClose(reason);
      if (opened) this.#options.onEvent?.("disconnected");
      done.resolve({ opened, refusedStatus });
    });
    return done.promise;
  }
}

/** Waits `ms` unless `signal` aborts first; true when the full wait elapsed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
