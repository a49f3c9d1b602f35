/**
 * The symmetric half of the Noise Protocol Framework (revision 34, §5.1 and §5.2) with AES-256-GCM and
 * SHA-256: a `CipherState` (key plus 64-bit nonce) and a `SymmetricState` (chaining key `ck`, handshake hash
 * `h`). The primitives are the audited @noble ones; only the state machine is ours.
 *
 * @module
 */
import { gcm, hkdf, sha256 } from "./crypto_primitives.ts";

/** AES-GCM's tag length. */
export const TAG_LEN = 16;
/** SHA-256's output length (HASHLEN). */
export const HASH_LEN = 32;
/** The largest Noise message (handshake or transport), as the spec and clatter. */
export const MAX_NOISE_MESSAGE_LEN = 65535;

/** A Noise failure: a bad message (authentication failed, wrong length) or a state misuse. */
export class NoiseError extends Error {
  override name = "NoiseError";
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Noise's AESGCM nonce: 32 zero bits, then the counter as a big-endian 64-bit integer. */
function gcmNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, false);
  return nonce;
}

/** HKDF(ck, ikm, 2|3) of the spec: RFC 5869 with `ck` as salt and an empty info. */
export function noiseHkdf(ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const okm = hkdf(sha256, ikm, ck, new Uint8Array(0), HASH_LEN * outputs);
  const out: Uint8Array[] = [];
  for (let i = 0; i < outputs; i++) out.push(okm.slice(i * HASH_LEN, (i + 1) * HASH_LEN));
  return out;
}

/** One direction's key and nonce. */
export class CipherState {
  #key: Uint8Array | null;
  #n = 0n;

  constructor(key: Uint8Array | null = null) {
    this.#key = key;
  }

  get hasKey(): boolean {
    return this.#key !== null;
  }

  /** The next nonce (records sent or received so far in this direction). */
  get nonce(): bigint {
    return this.#n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#key === null) return plaintext.slice();
    if (this.#n >= 0xffff_ffff_ffff_ffffn) throw new NoiseError("nonce exhausted");
    const out = gcm(this.#key, gcmNonce(this.#n), ad).encrypt(plaintext);
    this.#n++;
    return out;
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#key === null) return ciphertext.slice();
    if (this.#n >= 0xffff_ffff_ffff_ffffn) throw new NoiseError("nonce exhausted");
    if (ciphertext.length < TAG_LEN) throw new NoiseError("ciphertext is too short");
    let out: Uint8Array;
    try {
      out = gcm(this.#key, gcmNonce(this.#n), ad).decrypt(ciphertext);
    } catch {
      throw new NoiseError("decryption failed");
    }
    this.#n++;
    return out;
  }
}

/** The handshake's chaining key, hash and current cipher. */
export class SymmetricState {
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher = new CipherState();

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_LEN) {
      this.#h = new Uint8Array(HASH_LEN);
      this.#h.set(name);
    } else {
      this.#h = sha256(name);
    }
    this.#ck = this.#h.slice();
  }

  /** The handshake hash `h` (the channel binding once the handshake is done). */
  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  get hasKey(): boolean {
    return this.#cipher.hasKey;
  }

  mixHash(data: Uint8Array): void {
    this.#h = sha256(concatBytes(this.#h, data));
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseHkdf(this.#ck, ikm, 2);
    this.#ck = ck;
    this.#cipher = new CipherState(k);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, h, k] = noiseHkdf(this.#ck, ikm, 3);
    this.#ck = ck;
    this.mixHash(h);
    this.#cipher = new CipherState(k);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const out = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(out);
    return out;
  }

  decryptAndHash(data: Uint8Array): Uint8Array {
    const out = this.#cipher.decryptWithAd(this.#h, data);
    this.mixHash(data);
    return out;
  }

  /** The two transport ciphers: initiator-to-responder, responder-to-initiator. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.#ck, new Uint8Array(0), 2);
    return [new CipherState(k1), new CipherState(k2)];
  }
}
