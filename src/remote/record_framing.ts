/**
 * The plaintext inside a stream's Noise records: a byte stream of `u32be length || JSON-RPC message`, cut into
 * records of at most {@link RECORD_PLAINTEXT_LEN} bytes. One message may be up to {@link MAX_RELAY_MESSAGE_BYTES}.
 *
 * @module
 */

/** The largest record plaintext we write (60 KiB, under Noise's 65535-byte message limit with the tag). */
export const RECORD_PLAINTEXT_LEN = 60 * 1024;
/** The largest JSON-RPC message on a stream (64 MiB). */
export const MAX_RELAY_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Frames one message and cuts it into record plaintexts. */
export function frameMessage(message: Uint8Array): Uint8Array[] {
  if (message.length > MAX_RELAY_MESSAGE_BYTES) {
    throw new Error("JSON-RPC message is too large for the relay");
  }
  const framed = new Uint8Array(4 + message.length);
  new DataView(framed.buffer).setUint32(0, message.length, false);
  framed.set(message, 4);
  const records: Uint8Array[] = [];
  for (let offset = 0; offset < framed.length; offset += RECORD_PLAINTEXT_LEN) {
    records.push(framed.subarray(offset, Math.min(framed.length, offset + RECORD_PLAINTEXT_LEN)));
  }
  return records;
}

/** Reassembles messages from record plaintexts. */
export class MessageDecoder {
  #header = new Uint8Array(4);
  #headerLen = 0;
  #body: Uint8Array | null = null;
  #bodyLen = 0;

  /** Feeds one record's plaintext; returns the messages it completed. Throws on an oversized length. */
  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#body === null) {
        const n = Math.min(4 - this.#headerLen, bytes.length - offset);
        this.#header.set(bytes.subarray(offset, offset + n), this.#headerLen);
        this.#headerLen += n;
        offset += n;
        if (this.#headerLen < 4) break;
        const length = new DataView(this.#header.buffer).getUint32(0, false);
        if (length > MAX_RELAY_MESSAGE_BYTES) throw new Error("relay JSON-RPC message is too large");
        this.#body = new Uint8Array(length);
        this.#bodyLen = 0;
        this.#headerLen = 0;
      }
      const n = Math.min(this.#body.length - this.#bodyLen, bytes.length - offset);
      this.#body.set(bytes.subarray(offset, offset + n), this.#bodyLen);
      this.#bodyLen += n;
      offset += n;
      if (this.#bodyLen === this.#body.length) {
        out.push(this.#body);
        this.#body = null;
      }
    }
    return out;
  }
}

/** Puts records back in `seq` order: each seq once, never below the next expected one, a bounded gap. */
export class SeqReorder<T> {
  #next = 0;
  readonly #pending = new Map<number, T>();
  constructor(readonly maxPending = 1024) {}

  /** Accepts `seq`; returns the items now deliverable in order. Throws on a replay or an overflow. */
  push(seq: number, item: T): T[] {
    if (seq < this.#next || this.#pending.has(seq)) throw new Error(`duplicate relay sequence ${seq}`);
    if (seq - this.#next > this.maxPending) throw new Error("relay sequence gap is too large");
    this.#pending.set(seq, item);
    const out: T[] = [];
    while (this.#pending.has(this.#next)) {
      out.push(this.#pending.get(this.#next)!);
      this.#pending.delete(this.#next);
      this.#next++;
    }
    return out;
  }
}
