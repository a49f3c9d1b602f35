/**
 * The harness role: reach an executor registered with an environment registry. `POST /connect` (bearer)
 * hands out the executor's pinned Noise key, the rendezvous URL and a one-off `harness_key_authorization`;
 * the harness opens the rendezvous WebSocket, claims a fresh stream with `Resume`, runs the hybrid IK
 * handshake as initiator (the authorization rides in message 1) and then speaks JSON-RPC over the stream.
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import {
  generateNoiseIdentity,
  NOISE_SECURITY_PROFILE,
  NoiseInitiator,
  noisePrologue,
  publicKeyFromJson,
  publicKeys,
  publicKeyToJson,
} from "./noise_channel.ts";
import type { NoiseKeys } from "./noise_handshake.ts";
import { NoiseStreamTransport } from "./noise_stream.ts";
import {
  decodeRelayFrame,
  handshakeFrame,
  resetFrame,
  resumeFrame,
  validateRelayFrame,
} from "./relay_frame.ts";
import { registryError, registryUrl } from "./registry.ts";
import { MAX_RELAY_WEBSOCKET_MESSAGE_BYTES } from "./noise_rendezvous.ts";

/** Where and how to reach a registered executor. */
export interface RelayHarnessOptions {
  /** The registry's base URL (`CODEX_EXEC_SERVER_NOISE_REGISTRY_URL`). */
  registryUrl: string;
  environmentId: string;
  /** The harness bearer (`CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN`). */
  authToken: string;
  /** Sent as `chatgpt-account-id` when set. */
  accountId?: string;
  /** Our static identity (default: a fresh one per call). */
  identity?: NoiseKeys;
  /** Bound on `/connect` plus the handshake (default 10 s). */
  timeoutMs?: number;
}

const RESET_REASON = "noise_relay_protocol_error";

/** Connects one harness stream; resolves once the Noise handshake is complete. */
export async function connectRelayHarness(options: RelayHarnessOptions): Promise<MessageTransport> {
  const identity = options.identity ?? generateNoiseIdentity();
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${options.authToken}`,
  };
  if (options.accountId) headers["chatgpt-account-id"] = options.accountId;
  const response = await fetch(registryUrl(options.registryUrl, options.environmentId, "connect"), {
    method: "POST",
    headers,
    body: JSON.stringify({ harness_public_key: publicKeyToJson(publicKeys(identity)) }),
    signal: timeout,
  });
  if (!response.ok) throw await registryError(response);
  const body = await response.json() as Record<string, unknown>;
  for (const field of ["environment_id", "url", "executor_registration_id", "harness_key_authorization"]) {
    if (typeof body[field] !== "string") {
      throw new Error(`environment registry response is missing \`${field}\``);
    }
  }
  if (body.environment_id !== options.environmentId) {
    throw new Error("environment registry returned a different environment_id");
  }
  if (body.security_profile !== NOISE_SECURITY_PROFILE) {
    throw new Error(`environment registry returned an unsupported security_profile`);
  }
  const executorKey = publicKeyFromJson(body.executor_public_key);
  const streamId = crypto.randomUUID();
  const prologue = noisePrologue(options.environmentId, body.executor_registration_id as string, streamId);
  const authorization = new TextEncoder().encode(body.harness_key_authorization as string);
  const initiator = new NoiseInitiator(identity, executorKey, prologue, authorization);

  const socket = new WebSocket(body.url as string);
  socket.binaryType = "arraybuffer";
  const done = Promise.withResolvers<NoiseStreamTransport>();
  let stream: NoiseStreamTransport | null = null;
  const fail = (error: Error) => {
    done.reject(error);
    socket.close();
  };
  const onAbort = () => fail(new Error("timed out connecting to the remote environment"));
  timeout.addEventListener("abort", onAbort);
  socket.onopen = () => {
    socket.send(resumeFrame(streamId));
    socket.send(handshakeFrame(streamId, initiator.message1));
  };
  socket.onerror = (event) =>
    fail(new Error(`rendezvous WebSocket failed: ${(event as ErrorEvent).message}`));
  socket.onclose = () => {
    if (stream) stream.remoteClosed("relay WebSocket closed");
    else fail(new Error("rendezvous WebSocket closed during the handshake"));
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") return;
    if ((event.data as ArrayBuffer).byteLength > MAX_RELAY_WEBSOCKET_MESSAGE_BYTES) return;
    let frame;
    try {
      frame = decodeRelayFrame(new Uint8Array(event.data as ArrayBuffer));
      if (frame.streamId !== streamId) return;
      const body = validateRelayFrame(frame);
      if (body.kind === "reset") {
        if (stream) stream.remoteClosed(`stream reset by the executor: ${body.reason}`);
        else fail(new Error(`the executor reset the stream during the handshake: ${body.reason}`));
        socket.close();
        return;
      }
      if (!stream) {
        if (body.kind !== "handshake") return;
        const transport = initiator.finish(body.payload);
        stream = new NoiseStreamTransport(streamId, transport, {
          sendFrame: (bytes) => socket.readyState === WebSocket.OPEN && socket.send(bytes),
          get bufferedBytes() {
            return socket.bufferedAmount;
          },
          onLocalClose: (reason) => {
            if (socket.readyState === WebSocket.OPEN) socket.send(resetFrame(streamId, reason || "closed"));
            socket.close();
          },
        }, `remote environment ${options.environmentId}`);
        done.resolve(stream);
      } else if (body.kind === "data") {
        stream.receiveData(body.seq, body.payload);
      }
    } catch (error) {
      if (stream) {
        socket.send(resetFrame(streamId, RESET_REASON));
        stream.remoteClosed(`relay protocol error: ${(error as Error).message}`);
        socket.close();
      } else {
        fail(error as Error);
      }
    }
  };
  try {
    return await done.promise;
  } finally {
    timeout.removeEventListener("abort", onAbort);
  }
}
