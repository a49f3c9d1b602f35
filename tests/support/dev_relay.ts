/**
 * A development environment registry and relay on 127.0.0.1, implementing the contract Codex's executor and
 * harness expect (shared/reference/remote-registration.md). For tests and local development only: it keeps
 * everything in memory, checks bearer tokens by equality and is not a production service.
 *
 * - `POST /cloud/environment/{id}/register` (executor bearer): stores the executor's Noise public key.
 * - `POST /cloud/environment/{id}/direct/register` (executor bearer): a direct (plain JSON-RPC) registration.
 * - `POST /cloud/environment/{id}/connect` (harness bearer): hands out the executor's key, the rendezvous URL
 *   and a one-off `harness_key_authorization` bound to the harness key.
 * - `POST /cloud/environment/{id}/validate` (executor bearer): accepts that authorization for that key.
 * - `GET /rendezvous/executor/{id}` and `/rendezvous/harness/{id}`: WebSockets; binary frames are forwarded
 *   by `stream_id` between the executor's socket and the harness socket that claimed the stream.
 * - `GET /rendezvous/direct/{id}` (executor) and `/rendezvous/direct-harness/{id}`: plain text pairing.
 *
 * @module
 */
import { decodeRelayFrame, resetFrame } from "../../src/remote/relay_frame.ts";
import { signV4, type SigV4Config } from "../../src/remote/sigv4.ts";

export interface DevRelayOptions {
  executorToken?: string;
  harnessToken?: string;
  /** Also accept direct registrations and upgrades signed with AWS SigV4 by these credentials. */
  sigv4?: SigV4Config;
}

/** One request the registry answered (for assertions). */
export interface RegistryCall {
  path: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface Environment {
  registrationId: string;
  executorKey: unknown;
  executors: Set<WebSocket>;
  direct: WebSocket[];
}

/** A running development relay. */
export class DevRelay {
  readonly executorToken: string;
  readonly harnessToken: string;
  readonly sigv4: SigV4Config | null;
  readonly calls: RegistryCall[] = [];
  /** How each direct rendezvous upgrade was authenticated. */
  readonly directUpgradeAuth: ("bearer" | "sigv4" | "refused")[] = [];
  /** Upgrades of the executor rendezvous socket, including refused ones. */
  executorUpgrades = 0;
  /** Refuse this many coming executor upgrades with 403 (as a relay with an expired route does). */
  refuseExecutorUpgrades = 0;
  /** Answer `/register` with this status instead (once per entry, first first). */
  registerStatuses: number[] = [];
  /** Rewrites (or drops, with null) frames from harness sockets before they reach the executor. */
  tamperHarnessFrame: ((frame: Uint8Array) => Uint8Array | null) | null = null;
  /** Every frame seen, decoded: direction and body kind. */
  readonly frames: { from: "executor" | "harness"; streamId: string; kind: string; reason?: string }[] = [];
  readonly #envs = new Map<string, Environment>();
  readonly #authorizations = new Map<string, { key: string; used: boolean }>();
  readonly #streamOwners = new Map<string, { socket: WebSocket; env: Environment }>();
  readonly #harnessSockets = new Set<WebSocket>();
  readonly #listeners = new Set<() => void>();
  #server!: Deno.HttpServer<Deno.NetAddr>;
  url = "";

  private constructor(options: DevRelayOptions) {
    this.executorToken = options.executorToken ?? "executor-token";
    this.harnessToken = options.harnessToken ?? "harness-token";
    this.sigv4 = options.sigv4 ?? null;
  }

  /** Whether `request` carries a valid SigV4 signature (recomputed over the headers it says it signed). */
  #sigv4Valid(request: Request, url: URL, body: string): boolean {
    const authorization = request.headers.get("authorization") ?? "";
    const date = request.headers.get("x-amz-date") ?? "";
    const signedList = authorization.match(/SignedHeaders=([^,]+)/)?.[1]?.split(";") ?? [];
    if (!this.sigv4 || !authorization.startsWith("AWS4-HMAC-SHA256 ") || !/^\d{8}T\d{6}Z$/.test(date)) {
      return false;
    }
    const now = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${
        date.slice(11, 13)
      }:${date.slice(13, 15)}Z`,
    );
    const headers: Record<string, string> = {};
    for (const name of signedList) {
      if (!["host", "x-amz-date", "x-amz-security-token"].includes(name)) {
        headers[name] = request.headers.get(name) ?? "";
      }
    }
    const target = new URL(url.pathname + url.search, `http://${request.headers.get("host")}`);
    const expected = signV4({ method: request.method, url: target, headers, body }, this.sigv4, now);
    return expected.authorization === authorization;
  }

  static start(options: DevRelayOptions = {}): Promise<DevRelay> {
    const relay = new DevRelay(options);
    const ready = Promise.withResolvers<DevRelay>();
    relay.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        relay.url = `http://127.0.0.1:${port}`;
        ready.resolve(relay);
      },
    }, (request) => relay.#handle(request));
    return ready.promise;
  }

  /** Resolves once `condition` holds (checked at each registry call, upgrade, frame and close). */
  waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`dev relay: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
    });
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** Executor rendezvous sockets currently open for `environmentId`. */
  executorSockets(environmentId: string): number {
    return this.#envs.get(environmentId)?.executors.size ?? 0;
  }

  /** Direct executor sockets waiting for a harness. */
  idleDirectSockets(environmentId: string): number {
    return this.#envs.get(environmentId)?.direct.length ?? 0;
  }

  /** Closes every executor rendezvous socket (a relay drop). */
  dropExecutors(): void {
    for (const env of this.#envs.values()) {
      for (const socket of env.executors) socket.close(1012, "relay restarting");
    }
  }

  /** Closes every harness socket. */
  dropHarnesses(): void {
    for (const socket of this.#harnessSockets) socket.close(1012, "relay restarting");
  }

  callsTo(suffix: string): RegistryCall[] {
    return this.calls.filter((c) => c.path.endsWith(suffix));
  }

  async close(): Promise<void> {
    for (const env of this.#envs.values()) {
      for (const socket of [...env.executors, ...env.direct]) socket.close();
    }
    for (const socket of this.#harnessSockets) socket.close();
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const rendezvous = url.pathname.match(
      /^\/rendezvous\/(executor|harness|direct|direct-harness)\/([^/]+)$/,
    );
    if (rendezvous) return this.#upgrade(request, rendezvous[1], decodeURIComponent(rendezvous[2]));
    const api = url.pathname.match(
      /^\/cloud\/environment\/([^/]+)\/(register|direct\/register|connect|validate)$/,
    );
    if (!api || request.method !== "POST") return new Response("not found", { status: 404 });
    const id = decodeURIComponent(api[1]);
    let body: unknown = null;
    const text = await request.text();
    try {
      body = JSON.parse(text);
    } catch {
      // recorded as null
    }
    const headers = Object.fromEntries(request.headers);
    const answer = (status: number, value: unknown) => {
      this.calls.push({ path: url.pathname, status, headers, body });
      this.#changed();
      return Response.json(value, { status });
    };
    const bearer = request.headers.get("authorization") ?? "";
    const b = (body ?? {}) as Record<string, unknown>;
    switch (api[2]) {
      case "register": {
        const forced = this.registerStatuses.shift();
        if (forced !== undefined) return answer(forced, { error: "forced" });
        if (bearer !== `Bearer ${this.executorToken}`) return answer(401, { error: "unauthorized" });
        const registrationId = `reg_${crypto.randomUUID()}`;
        const env = this.#env(id);
        env.registrationId = registrationId;
        env.executorKey = b.executor_public_key;
        return answer(200, {
          environment_id: id,
          url: `${this.#wsBase()}/rendezvous/executor/${encodeURIComponent(id)}`,
          security_profile: "noise_hybrid_ik_v1",
          executor_registration_id: registrationId,
        });
      }
      case "direct/register": {
        const signed = this.#sigv4Valid(request, url, text);
        if (bearer !== `Bearer ${this.executorToken}` && !signed) {
          return answer(401, { error: "unauthorized" });
        }
        const registrationId = `dreg_${crypto.randomUUID()}`;
        this.#env(id).registrationId = registrationId;
        return answer(200, {
          environment_id: id,
          url: `${this.#wsBase()}/rendezvous/direct/${encodeURIComponent(id)}`,
          transport: "direct_jsonrpc_v1",
          registration_id: registrationId,
        });
      }
      case "connect": {
        if (bearer !== `Bearer ${this.harnessToken}`) return answer(401, { error: "unauthorized" });
        const env = this.#envs.get(id);
        if (!env?.executorKey) return answer(404, { error: "environment not registered" });
        const authorization = `hka_${crypto.randomUUID()}`;
        this.#authorizations.set(authorization, { key: JSON.stringify(b.harness_public_key), used: false });
        return answer(200, {
          environment_id: id,
          url: `${this.#wsBase()}/rendezvous/harness/${encodeURIComponent(id)}`,
          executor_registration_id: env.registrationId,
          executor_public_key: env.executorKey,
          security_profile: "noise_hybrid_ik_v1",
          harness_key_authorization: authorization,
        });
      }
      default: {
        if (bearer !== `Bearer ${this.executorToken}`) return answer(401, { error: "unauthorized" });
        const grant = this.#authorizations.get(String(b.harness_key_authorization));
        const valid = grant !== undefined && !grant.used &&
          grant.key === JSON.stringify(b.harness_public_key) &&
          b.executor_registration_id === this.#envs.get(id)?.registrationId;
        if (grant && valid) grant.used = true;
        return answer(200, { valid });
      }
    }
  }

  #env(id: string): Environment {
    let env = this.#envs.get(id);
    if (!env) {
      env = { registrationId: "", executorKey: null, executors: new Set(), direct: [] };
      this.#envs.set(id, env);
    }
    return env;
  }

  #wsBase(): string {
    return this.url.replace(/^http/, "ws");
  }

  #upgrade(request: Request, role: string, id: string): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 400 });
    }
    if (role === "executor" || role === "direct") {
      this.executorUpgrades++;
      this.#changed();
      if (this.refuseExecutorUpgrades > 0) {
        this.refuseExecutorUpgrades--;
        return new Response("route unavailable", {
          status: 403,
          headers: { "x-codex-rendezvous-rejection-reason": "route_unavailable" },
        });
      }
    }
    const bearer = request.headers.get("authorization");
    const directAuthorized = role !== "direct"
      ? true
      : bearer === `Bearer ${this.executorToken}`
      ? (this.directUpgradeAuth.push("bearer"), true)
      : this.#sigv4Valid(request, new URL(request.url), "")
      ? (this.directUpgradeAuth.push("sigv4"), true)
      : (this.directUpgradeAuth.push("refused"), false);
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    const env = this.#env(id);
    if (role === "executor") this.#executorSocket(env, socket);
    else if (role === "harness") this.#harnessSocket(env, socket);
    else if (role === "direct") this.#directExecutor(env, socket, directAuthorized);
    else this.#directHarness(env, socket);
    return response;
  }

  #record(from: "executor" | "harness", bytes: Uint8Array): string | null {
    try {
      const frame = decodeRelayFrame(bytes);
      const kind = frame.body?.kind ?? "none";
      const reason = frame.body?.kind === "reset" ? frame.body.reason : undefined;
      this.frames.push({ from, streamId: frame.streamId, kind, reason });
      return frame.streamId;
    } catch {
      this.frames.push({ from, streamId: "", kind: "undecodable" });
      return null;
    }
  }

  #executorSocket(env: Environment, socket: WebSocket): void {
    socket.onopen = () => {
      env.executors.add(socket);
      this.#changed();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") return;
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      const streamId = this.#record("executor", bytes);
      const owner = streamId === null ? undefined : this.#streamOwners.get(streamId)?.socket;
      if (owner?.readyState === WebSocket.OPEN) owner.send(bytes);
      this.#changed();
    };
    socket.onclose = () => {
      env.executors.delete(socket);
      // The streams it carried are gone: tell their harnesses (a production relay does the same).
      for (const [streamId, owner] of this.#streamOwners) {
        if (owner.env !== env) continue;
        this.#streamOwners.delete(streamId);
        if (owner.socket.readyState === WebSocket.OPEN) {
          owner.socket.send(resetFrame(streamId, "executor_disconnected"));
        }
      }
      this.#changed();
    };
  }

  #harnessSocket(env: Environment, socket: WebSocket): void {
    const owned = new Set<string>();
    this.#harnessSockets.add(socket);
    socket.onmessage = (event) => {
      if (typeof event.data === "string") return;
      let bytes: Uint8Array | null = new Uint8Array(event.data as ArrayBuffer);
      const streamId = this.#record("harness", bytes);
      if (streamId !== null && streamId !== "") {
        owned.add(streamId);
        this.#streamOwners.set(streamId, { socket, env });
      }
      if (this.tamperHarnessFrame) bytes = this.tamperHarnessFrame(bytes);
      if (bytes && env.executors.size === 0 && streamId) {
        // Nobody to carry the stream: say so at once rather than letting the handshake time out.
        socket.send(resetFrame(streamId, "executor_unavailable"));
      }
      if (bytes) { for (const executor of env.executors) executor.send(bytes); }
      this.#changed();
    };
    socket.onclose = () => {
      this.#harnessSockets.delete(socket);
      for (const streamId of owned) {
        if (this.#streamOwners.get(streamId)?.socket !== socket) continue;
        this.#streamOwners.delete(streamId);
        for (const executor of env.executors) {
          if (executor.readyState === WebSocket.OPEN) {
            executor.send(resetFrame(streamId, "harness_disconnected"));
          }
        }
      }
      this.#changed();
    };
  }

  #directExecutor(env: Environment, socket: WebSocket, authorized: boolean): void {
    if (!authorized) {
      socket.onopen = () => socket.close(4001, "unauthorized");
      return;
    }
    socket.onopen = () => {
      env.direct.push(socket);
      this.#changed();
    };
    socket.onclose = () => {
      env.direct = env.direct.filter((s) => s !== socket);
      this.#changed();
    };
  }

  #directHarness(env: Environment, socket: WebSocket): void {
    const executor = env.direct.shift();
    if (!executor) {
      socket.onopen = () => socket.close(1013, "no executor socket waiting");
      return;
    }
    executor.onmessage = (event) => socket.readyState === WebSocket.OPEN && socket.send(event.data);
    socket.onmessage = (event) => executor.readyState === WebSocket.OPEN && executor.send(event.data);
    executor.onclose = () => socket.close();
    socket.onclose = () => executor.close();
    this.#changed();
  }
}
