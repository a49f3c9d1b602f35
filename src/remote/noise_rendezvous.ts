/**
 * The executor's side of one rendezvous WebSocket in the noise profile: every harness stream on it runs the
 * hybrid IK handshake as responder, is authorized by the registry (`/validate`) and then becomes its own
 * {@link NoiseStreamTransport}, handed to the server as an independent connection. Limits as Codex's: 128
 * active streams, 32 pending validations (10 s each), 8 failed handshakes before the socket is closed.
 * Protocol errors reset only their stream, with reason `noise_relay_protocol_error`.
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import { log } from "../util/log.ts";
import { noisePrologue, NoiseResponder, publicKeyToJson } from "./noise_channel.ts";
import type { NoiseKeys } from "./noise_handshake.ts";
import { NoiseStreamTransport } from "./noise_stream.ts";
import {
  decodeRelayFrame,
  handshakeFrame,
  type RelayBody,
  resetFrame,
  validateRelayFrame,
} from "./relay_frame.ts";

export const NOISE_RELAY_RESET_REASON = "noise_relay_protocol_error";
export const MAX_ACTIVE_STREAMS = 128;
export const MAX_PENDING_VALIDATIONS = 32;
export const MAX_FAILED_HANDSHAKES = 8;
const MAX_AUTHORIZATION_BYTES = 4096;
const VALIDATION_TIMEOUT_MS = 10_000;
/** The largest relay WebSocket message (one Noise record plus framing fits easily), as Codex's. */
export const MAX_RELAY_WEBSOCKET_MESSAGE_BYTES = 256 * 1024;

/** What one rendezvous socket needs from the executor. */
export interface NoiseRendezvousOptions {
  environmentId: string;
  registrationId: string;
  identity: NoiseKeys;
  /** Asks the registry whether this harness key and authorization may open `streamId`. */
  validate(
    streamId: string,
    harnessKey: ReturnType<typeof publicKeyToJson>,
    authorization: string,
  ): Promise<boolean>;
  /** Serves one authenticated stream. */
  accept(transport: MessageTransport): void;
}

interface Pending {
  id: number;
  responder: NoiseResponder;
}

/** Runs the multiplexed streams of one open socket until it closes. */
export class NoiseRendezvous {
  readonly #socket: WebSocket;
  readonly #options: NoiseRendezvousOptions;
  readonly #streams = new Map<string, NoiseStreamTransport>();
  readonly #pending = new Map<string, Pending>();
  #nextValidation = 0;
  #failedHandshakes = 0;
  #closed = false;

  constructor(socket: WebSocket, options: NoiseRendezvousOptions) {
    this.#socket = socket;
    this.#options = options;
  }

  get activeStreams(): number {
    return this.#streams.size;
  }

  /** One binary message from the relay. */
  onMessage(bytes: Uint8Array): void {
    if (bytes.length > MAX_RELAY_WEBSOCKET_MESSAGE_BYTES) {
      log.warn(`dropping a ${bytes.length}-byte relay message (limit ${MAX_RELAY_WEBSOCKET_MESSAGE_BYTES})`);
      return;
    }
    let streamId: string;
    let body: RelayBody;
    try {
      const frame = decodeRelayFrame(bytes);
      streamId = frame.streamId;
      body = validateRelayFrame(frame);
    } catch (error) {
      log.warn(`dropping invalid relay frame: ${(error as Error).message}`);
      return;
    }
    switch (body.kind) {
      case "handshake":
        this.#onHandshake(streamId, body.payload);
        break;
      case "data": {
        const stream = this.#streams.get(streamId);
        if (!stream) {
          this.#pending.delete(streamId);
          this.#reset(streamId);
          return;
        }
        try {
          stream.receiveData(body.seq, body.payload);
        } catch (error) {
          log.warn(`relay stream ${streamId}: ${(error as Error).message}`);
          this.#streams.delete(streamId);
          this.#reset(streamId);
          stream.remoteClosed(`relay protocol error: ${(error as Error).message}`);
        }
        break;
      }
      case "reset": {
        this.#pending.delete(streamId);
        const stream = this.#streams.get(streamId);
        if (stream) {
          this.#streams.delete(streamId);
          stream.remoteClosed("relay stream reset");
        }
        break;
      }
      default:
        break; // resume, ack, heartbeat: nothing to do for the executor
    }
  }

  /** The socket closed: every stream ends, pending validations are dropped. */
  onClose(reason: string): void {
    this.#closed = true;
    this.#pending.clear();
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) stream.remoteClosed(reason);
  }

  #reset(streamId: string): void {
    if (this.#socket.readyState === WebSocket.OPEN) {
      this.#socket.send(resetFrame(streamId, NOISE_RELAY_RESET_REASON));
    }
  }

  #handshakeFailed(streamId: string, why: string): void {
    log.warn(`relay stream ${streamId}: Noise handshake refused: ${why}`);
    this.#reset(streamId);
    if (++this.#failedHandshakes >= MAX_FAILED_HANDSHAKES) {
      log.warn(`closing the rendezvous socket after ${this.#failedHandshakes} failed Noise handshakes`);
      this.#socket.close(1000, "too many failed handshakes");
    }
  }

  #onHandshake(streamId: string, payload: Uint8Array): void {
    if (this.#streams.has(streamId) || this.#pending.has(streamId)) {
      return this.#handshakeFailed(streamId, "duplicate handshake for an open stream");
    }
    if (this.#streams.size >= MAX_ACTIVE_STREAMS) {
      return this.#handshakeFailed(streamId, "too many active streams");
    }
    if (this.#pending.size >= MAX_PENDING_VALIDATIONS) {
      return this.#handshakeFailed(streamId, "too many pending harness key validations");
    }
    const { environmentId, registrationId, identity } = this.#options;
    let responder: NoiseResponder;
    let authorization: string;
    try {
      responder = new NoiseResponder(
        identity,
        noisePrologue(environmentId, registrationId, streamId),
        payload,
      );
      if (responder.payload.length > MAX_AUTHORIZATION_BYTES) throw new Error("authorization is too long");
      authorization = new TextDecoder("utf-8", { fatal: true }).decode(responder.payload);
    } catch (error) {
      return this.#handshakeFailed(streamId, (error as Error).message);
    }
    const id = this.#nextValidation++;
    this.#pending.set(streamId, { id, responder });
    const timeout = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), VALIDATION_TIMEOUT_MS);
      Deno.unrefTimer(timer);
    });
    const check = this.#options.validate(streamId, publicKeyToJson(responder.initiatorKey), authorization)
      .catch((error) => {
        log.warn(`harness key validation failed: ${(error as Error).message}`);
        return false;
      });
    Promise.race([check, timeout]).then((valid) => this.#onValidated(streamId, id, valid));
  }

  #onValidated(streamId: string, id: number, valid: boolean): void {
    const pending = this.#pending.get(streamId);
    if (this.#closed || pending?.id !== id) return; // the stream was reset or reused meanwhile
    this.#pending.delete(streamId);
    if (!valid) return this.#handshakeFailed(streamId, "the registry did not authorize the harness key");
    if (this.#streams.size >= MAX_ACTIVE_STREAMS) {
      return this.#handshakeFailed(streamId, "too many active streams");
    }
    const { transport, message2 } = pending.responder.complete();
    this.#socket.send(handshakeFrame(streamId, message2));
    const socket = this.#socket;
    const stream: NoiseStreamTransport = new NoiseStreamTransport(streamId, transport, {
      sendFrame: (bytes) => socket.readyState === WebSocket.OPEN && socket.send(bytes),
      get bufferedBytes() {
        return socket.bufferedAmount;
      },
      onLocalClose: () => {
        if (this.#streams.get(streamId) === stream) this.#streams.delete(streamId);
        this.#reset(streamId);
      },
    }, `relay stream ${streamId}`);
    this.#streams.set(streamId, stream);
    this.#options.accept(stream);
  }
}
