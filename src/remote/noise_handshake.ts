/**
 * A Noise handshake state machine (Noise spec §5.3) that also runs the hybrid patterns of the KEM extension
 * as the Rust `clatter` crate does (what Codex's relay uses): `e` and `s` carry an X25519 key and an ML-KEM-768
 * key, `ekem` encapsulates to the peer's ephemeral KEM key (MixHash(ct), MixKey(ss)), `skem` to its static
 * KEM key (EncryptAndHash(ct), MixKeyAndHash(ss)). With `kem: false` the same machine runs the classic
 * patterns, which is how it is checked against the published Noise test vectors.
 *
 * @module
 */
import { ml_kem768, x25519 } from "./crypto_primitives.ts";
import {
  type CipherState,
  MAX_NOISE_MESSAGE_LEN,
  NoiseError,
  SymmetricState,
  TAG_LEN,
} from "./noise_symmetric.ts";

export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "ekem" | "skem";

/** A handshake pattern: the responder's pre-message (only `s` is supported) and the message token lists. */
export interface HandshakePattern {
  name: string;
  responderPreMessage: readonly Token[];
  messages: readonly (readonly Token[])[];
}

export const X25519_KEY_LEN = 32;
export const MLKEM768_PUBLIC_KEY_LEN = 1184;
export const MLKEM768_CIPHERTEXT_LEN = 1088;

/** A key pair of either kind (X25519: 32-byte secret; ML-KEM-768: FIPS 203 encodings). */
export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A static (or ephemeral) identity: an X25519 key pair and, for hybrid patterns, an ML-KEM-768 one. */
export interface NoiseKeys {
  dh: KeyPair;
  kem?: KeyPair;
}

/** A peer's public keys. */
export interface NoisePublicKeys {
  dh: Uint8Array;
  kem?: Uint8Array;
}

/** Fresh X25519 key pair. */
export function generateDhKeyPair(): KeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The X25519 key pair of a given secret (test vectors). */
export function dhKeyPairFromSecret(secretKey: Uint8Array): KeyPair {
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** Fresh ML-KEM-768 key pair. */
export function generateKemKeyPair(): KeyPair {
  const { publicKey, secretKey } = ml_kem768.keygen();
  return { publicKey, secretKey };
}

function dh(own: KeyPair | undefined, remote: Uint8Array | undefined): Uint8Array {
  if (!own || !remote) throw new NoiseError("missing key material for DH");
  try {
    return x25519.getSharedSecret(own.secretKey, remote);
  } catch {
    throw new NoiseError("invalid X25519 public key");
  }
}

/** Options for {@link NoiseHandshake}. */
export interface NoiseHandshakeOptions {
  pattern: HandshakePattern;
  /** The full protocol name, e.g. `Noise_hybridIK_X25519+MLKEM768_AESGCM_SHA256`. */
  protocolName: string;
  initiator: boolean;
  /** Hybrid: `e`/`s` carry KEM keys too and `ekem`/`skem` are allowed. */
  kem: boolean;
  prologue: Uint8Array;
  s: NoiseKeys;
  /** The responder's static keys, known to the initiator beforehand (IK). */
  rs?: NoisePublicKeys;
  /** A fixed ephemeral (test vectors only). */
  e?: NoiseKeys;
}

/** One side of a handshake; after the last message, {@link split} gives the transport. */
export class NoiseHandshake {
  readonly #options: NoiseHandshakeOptions;
  readonly #ss: SymmetricState;
  #e: NoiseKeys | undefined;
  #re: NoisePublicKeys | undefined;
  #rs: NoisePublicKeys | undefined;
  #index = 0;
  #failed = false;

  constructor(options: NoiseHandshakeOptions) {
    this.#options = options;
    this.#e = options.e;
    this.#rs = options.rs;
    this.#ss = new SymmetricState(options.protocolName);
    this.#ss.mixHash(options.prologue);
    for (const token of options.pattern.responderPreMessage) {
      if (token !== "s") throw new NoiseError(`unsupported pre-message token ${token}`);
      const keys = options.initiator
        ? options.rs
        : { dh: options.s.dh.publicKey, kem: options.s.kem?.publicKey };
      if (!keys) throw new NoiseError("missing the responder's static key");
      this.#ss.mixHash(keys.dh);
      if (options.kem) {
        if (!keys.kem) throw new NoiseError("missing the responder's static KEM key");
        this.#ss.mixHash(keys.kem);
      }
    }
  }

  /** True once every message of the pattern has been written or read. */
  get isComplete(): boolean {
    return this.#index >= this.#options.pattern.messages.length;
  }

  /** True when the next message is ours to write. */
  get isWriteTurn(): boolean {
    return (this.#index % 2 === 0) === this.#options.initiator;
  }

  /** The peer's static keys, once received (or given). */
  get remoteStatic(): NoisePublicKeys | undefined {
    return this.#rs;
  }

  get handshakeHash(): Uint8Array {
    return this.#ss.handshakeHash;
  }

  #nextTokens(write: boolean): readonly Token[] {
    if (this.#failed) throw new NoiseError("handshake already failed");
    if (this.isComplete) throw new NoiseError("handshake already complete");
    if (this.isWriteTurn !== write) {
      throw new NoiseError(write ? "not our turn to write" : "not our turn to read");
    }
    return this.#options.pattern.messages[this.#index];
  }

  /** Writes the next handshake message with `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    const tokens = this.#nextTokens(true);
    const kem = this.#options.kem;
    const out: Uint8Array[] = [];
    try {
      for (const token of tokens) {
        switch (token) {
          case "e": {
            this.#e ??= { dh: generateDhKeyPair(), kem: kem ? generateKemKeyPair() : undefined };
            this.#ss.mixHash(this.#e.dh.publicKey);
            out.push(this.#e.dh.publicKey);
            if (kem) {
              this.#e.kem ??= generateKemKeyPair();
              this.#ss.mixHash(this.#e.kem.publicKey);
              out.push(this.#e.kem.publicKey);
            }
            break;
          }
          case "s": {
            out.push(this.#ss.encryptAndHash(this.#options.s.dh.publicKey));
            if (kem) out.push(this.#ss.encryptAndHash(this.#ownStaticKem().publicKey));
            break;
          }
          case "ekem": {
            if (!this.#re?.kem) throw new NoiseError("missing the peer's ephemeral KEM key");
            const { cipherText, sharedSecret } = ml_kem768.encapsulate(this.#re.kem);
            this.#ss.mixHash(cipherText);
            this.#ss.mixKey(sharedSecret);
            out.push(cipherText);
            break;
          }
          case "skem": {
            if (!this.#rs?.kem) throw new NoiseError("missing the peer's static KEM key");
            const { cipherText, sharedSecret } = ml_kem768.encapsulate(this.#rs.kem);
            out.push(this.#ss.encryptAndHash(cipherText));
            this.#ss.mixKeyAndHash(sharedSecret);
            break;
          }
          default:
            this.#ss.mixKey(this.#dh(token));
        }
      }
      out.push(this.#ss.encryptAndHash(payload));
    } catch (error) {
      this.#failed = true;
      throw error;
    }
    this.#index++;
    let length = 0;
    for (const part of out) length += part.length;
    if (length > MAX_NOISE_MESSAGE_LEN) throw new NoiseError("handshake message is too large");
    const message = new Uint8Array(length);
    let offset = 0;
    for (const part of out) message.set(part, offset), offset += part.length;
    return message;
  }

  /** Reads the peer's next handshake message; returns its payload. */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#nextTokens(false);
    const kem = this.#options.kem;
    if (message.length > MAX_NOISE_MESSAGE_LEN) throw new NoiseError("handshake message is too large");
    let offset = 0;
    const take = (n: number): Uint8Array => {
      if (offset + n > message.length) throw new NoiseError("handshake message is too short");
      const part = message.subarray(offset, offset + n);
      offset += n;
      return part;
    };
    const tag = () => (this.#ss.hasKey ? TAG_LEN : 0);
    let payload: Uint8Array;
    try {
      for (const token of tokens) {
        switch (token) {
          case "e": {
            const re: NoisePublicKeys = { dh: take(X25519_KEY_LEN).slice() };
            this.#ss.mixHash(re.dh);
            if (kem) {
              re.kem = take(MLKEM768_PUBLIC_KEY_LEN).slice();
              this.#ss.mixHash(re.kem);
            }
            this.#re = re;
            break;
          }
          case "s": {
            const rs: NoisePublicKeys = { dh: this.#ss.decryptAndHash(take(X25519_KEY_LEN + tag())) };
            if (kem) rs.kem = this.#ss.decryptAndHash(take(MLKEM768_PUBLIC_KEY_LEN + tag()));
            this.#rs = rs;
            break;
          }
          case "ekem": {
            const ct = take(MLKEM768_CIPHERTEXT_LEN).slice();
            this.#ss.mixHash(ct);
            const ekem = this.#e?.kem;
            if (!ekem) throw new NoiseError("missing our ephemeral KEM key");
            this.#ss.mixKey(ml_kem768.decapsulate(ct, ekem.secretKey));
            break;
          }
          case "skem": {
            const ct = this.#ss.decryptAndHash(take(MLKEM768_CIPHERTEXT_LEN + tag()));
            this.#ss.mixKeyAndHash(ml_kem768.decapsulate(ct, this.#ownStaticKem().secretKey));
            break;
          }
          default:
            this.#ss.mixKey(this.#dh(token));
        }
      }
      const rest = message.subarray(offset);
      if (rest.length < tag()) throw new NoiseError("handshake message is too short");
      payload = this.#ss.decryptAndHash(rest);
    } catch (error) {
      this.#failed = true;
      throw error instanceof NoiseError ? error : new NoiseError(`invalid handshake message: ${error}`);
    }
    this.#index++;
    return payload;
  }

  #ownStaticKem(): KeyPair {
    const k = this.#options.s.kem;
    if (!k) throw new NoiseError("missing our static KEM key");
    return k;
  }

  #dh(token: Token): Uint8Array {
    const initiator = this.#options.initiator;
    const s = this.#options.s.dh;
    switch (token) {
      case "ee":
        return dh(this.#e?.dh, this.#re?.dh);
      case "es":
        return initiator ? dh(this.#e?.dh, this.#rs?.dh) : dh(s, this.#re?.dh);
      case "se":
        return initiator ? dh(s, this.#re?.dh) : dh(this.#e?.dh, this.#rs?.dh);
      case "ss":
        return dh(s, this.#rs?.dh);
      default:
        throw new NoiseError(`unexpected token ${token}`);
    }
  }

  /** The transport, once the handshake is complete. */
  split(): NoiseTransport {
    if (!this.isComplete || this.#failed) throw new NoiseError("handshake is not complete");
    const [i2r, r2i] = this.#ss.split();
    return this.#options.initiator ? new NoiseTransport(i2r, r2i) : new NoiseTransport(r2i, i2r);
  }
}

const EMPTY = new Uint8Array(0);

/** Transport mode: independent implicit nonces per direction; records must be decrypted in order. */
export class NoiseTransport {
  readonly #send: CipherState;
  readonly #receive: CipherState;

  constructor(send: CipherState, receive: CipherState) {
    this.#send = send;
    this.#receive = receive;
  }

  encrypt(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length + TAG_LEN > MAX_NOISE_MESSAGE_LEN) {
      throw new NoiseError("transport plaintext is too large");
    }
    return this.#send.encryptWithAd(EMPTY, plaintext);
  }

  decrypt(ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length < TAG_LEN) throw new NoiseError("transport ciphertext is too short");
    if (ciphertext.length > MAX_NOISE_MESSAGE_LEN) throw new NoiseError("transport ciphertext is too large");
    return this.#receive.decryptWithAd(EMPTY, ciphertext);
  }
}
