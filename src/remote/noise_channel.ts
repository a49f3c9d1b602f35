/**
 * The relay's Noise channel: `Noise_hybridIK_X25519+MLKEM768_AESGCM_SHA256` with the harness as initiator
 * (it pins the executor's static keys from the registry), the prologue that binds a handshake to one
 * environment, registration and relay stream, and the suite-tagged public key JSON of the registry API.
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import {
  generateDhKeyPair,
  generateKemKeyPair,
  type HandshakePattern,
  MLKEM768_PUBLIC_KEY_LEN,
  NoiseHandshake,
  type NoiseKeys,
  type NoisePublicKeys,
  type NoiseTransport,
  X25519_KEY_LEN,
} from "./noise_handshake.ts";
import { NoiseError } from "./noise_symmetric.ts";

export const NOISE_CHANNEL_SUITE = "Noise_hybridIK_X25519+MLKEM768_AESGCM_SHA256";
export const NOISE_SECURITY_PROFILE = "noise_hybrid_ik_v1";
const PROLOGUE_DOMAIN = "codex-exec-server-relay-noise/v1";

/**
 * `<- s ... -> skem, e, es, s, ss  <- ekem, skem, e, ee, se`: the hybrid IK of clatter 2.2.0, the release
 * in Codex 0.171 (checked against the binary; the other published responder order, `e, ee, se, ekem, skem`,
 * fails to decrypt there).
 */
export const HYBRID_IK: HandshakePattern = {
  name: "hybridIK",
  responderPreMessage: ["s"],
  messages: [["skem", "e", "es", "s", "ss"], ["ekem", "skem", "e", "ee", "se"]],
};

/**
 * The Noise protocol name hashed into `h`: clatter names X25519 `25519`, so it differs from the suite label
 * the registry API carries ({@link NOISE_CHANNEL_SUITE}); the binary refuses the label as the name.
 */
export const NOISE_PROTOCOL_NAME = "Noise_hybridIK_25519+MLKEM768_AESGCM_SHA256";

/** The registry's JSON form of a public key (unknown fields are refused, as Codex's serde does). */
export interface NoisePublicKeyJson {
  suite: string;
  x25519_public_key: string;
  mlkem768_public_key: string;
}

/** Encodes public keys for the registry. */
export function publicKeyToJson(keys: NoisePublicKeys): NoisePublicKeyJson {
  return {
    suite: NOISE_CHANNEL_SUITE,
    x25519_public_key: encodeBase64(keys.dh),
    mlkem768_public_key: encodeBase64(keys.kem!),
  };
}

/** Decodes and checks a registry public key. */
export function publicKeyFromJson(value: unknown): NoisePublicKeys {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new NoiseError("invalid Noise channel public key: not an object");
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!["suite", "x25519_public_key", "mlkem768_public_key"].includes(key)) {
      throw new NoiseError(`invalid Noise channel public key: unknown field \`${key}\``);
    }
  }
  if (record.suite !== NOISE_CHANNEL_SUITE) {
    throw new NoiseError("invalid Noise channel public key: unsupported Noise channel suite");
  }
  const decode = (field: string, length: number, what: string) => {
    const text = record[field];
    let bytes: Uint8Array;
    try {
      if (typeof text !== "string") throw new Error();
      bytes = decodeBase64(text);
    } catch {
      throw new NoiseError(`invalid Noise channel public key: invalid ${what} public key`);
    }
    if (bytes.length !== length) {
      throw new NoiseError(`invalid Noise channel public key: invalid ${what} public key length`);
    }
    return bytes;
  };
  return {
    dh: decode("x25519_public_key", X25519_KEY_LEN, "X25519"),
    kem: decode("mlkem768_public_key", MLKEM768_PUBLIC_KEY_LEN, "ML-KEM-768"),
  };
}

/** Whether two public keys are the same. */
export function samePublicKeys(a: NoisePublicKeys, b: NoisePublicKeys): boolean {
  const eq = (x?: Uint8Array, y?: Uint8Array) =>
    x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.dh, b.dh) && eq(a.kem, b.kem);
}

/** A process's static identity (kept in memory only, for the process's lifetime). */
export function generateNoiseIdentity(): NoiseKeys {
  return { dh: generateDhKeyPair(), kem: generateKemKeyPair() };
}

/** The public half of an identity. */
export function publicKeys(identity: NoiseKeys): NoisePublicKeys {
  return { dh: identity.dh.publicKey, kem: identity.kem?.publicKey };
}

/**
 * The prologue: each of the domain, `environment_id`, `executor_registration_id` and `stream_id` as a
 * big-endian u64 length and its UTF-8 bytes (u64 as the 0.171 binary checks; a later source uses u32, which
 * the binary refuses).
 */
export function noisePrologue(environmentId: string, registrationId: string, streamId: string): Uint8Array {
  const encoder = new TextEncoder();
  const parts = [PROLOGUE_DOMAIN, environmentId, registrationId, streamId].map((p) => encoder.encode(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + 8 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setBigUint64(offset, BigInt(part.length), false);
    out.set(part, offset + 8);
    offset += 8 + part.length;
  }
  return out;
}

function handshake(initiator: boolean, identity: NoiseKeys, prologue: Uint8Array, rs?: NoisePublicKeys) {
  return new NoiseHandshake({
    pattern: HYBRID_IK,
    protocolName: NOISE_PROTOCOL_NAME,
    initiator,
    kem: true,
    prologue,
    s: identity,
    rs,
  });
}

/** Harness side: writes message 1 (carrying `payload`, the registry's authorization) and reads message 2. */
export class NoiseInitiator {
  readonly #handshake: NoiseHandshake;
  readonly message1: Uint8Array;

  constructor(identity: NoiseKeys, executorKey: NoisePublicKeys, prologue: Uint8Array, payload: Uint8Array) {
    this.#handshake = handshake(true, identity, prologue, executorKey);
    this.message1 = this.#handshake.writeMessage(payload);
  }

  /** Reads the executor's reply (its payload must be empty) and enters transport mode. */
  finish(message2: Uint8Array): NoiseTransport {
    const payload = this.#handshake.readMessage(message2);
    if (payload.length !== 0) throw new NoiseError("handshake response payload must be empty");
    return this.#handshake.split();
  }
}

/** Executor side between message 1 (read, harness key authenticated) and its authorization. */
export class NoiseResponder {
  readonly #handshake: NoiseHandshake;
  /** The harness's authenticated static keys. */
  readonly initiatorKey: NoisePublicKeys;
  /** Message 1's payload (the harness key authorization). */
  readonly payload: Uint8Array;

  constructor(identity: NoiseKeys, prologue: Uint8Array, message1: Uint8Array) {
    this.#handshake = handshake(false, identity, prologue);
    this.payload = this.#handshake.readMessage(message1);
    const rs = this.#handshake.remoteStatic;
    if (!rs?.kem) throw new NoiseError("handshake request is missing initiator static key");
    this.initiatorKey = rs;
  }

  /** Writes message 2 (empty payload) and enters transport mode. */
  complete(): { transport: NoiseTransport; message2: Uint8Array } {
    const message2 = this.#handshake.writeMessage(new Uint8Array(0));
    return { transport: this.#handshake.split(), message2 };
  }
}
