/**
 * One relay stream after its Noise handshake, as a {@link MessageTransport}: each outgoing JSON-RPC message
 * is length-framed, cut into records, encrypted and sent as `Data` frames with a per-direction `seq` from 0;
 * incoming `Data` frames are put back in `seq` order, decrypted and reassembled. Used by both roles.
 *
 * @module
 */
import { DEFAULT_HIGH_WATER_BYTES, type MessageTransport, type TransportHandlers } from "../rpc/transport.ts";
import { messageText, type OutgoingMessage } from "../rpc/write_queue.ts";
import type { NoiseTransport } from "./noise_handshake.ts";
import { frameMessage, MessageDecoder, SeqReorder } from "./record_framing.ts";
import { dataFrame } from "./relay_frame.ts";

/** What a stream needs from the physical rendezvous socket. */
export interface StreamSink {
  /** Sends one encoded relay frame. */
  sendFrame(frame: Uint8Array): void;
  /** Bytes queued on the physical socket. */
  readonly bufferedBytes: number;
  /** The stream was closed locally (send a `Reset`, forget it). */
  onLocalClose(reason: string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const MAX_SEQ = 0xffff_ffff;

/** A Noise-protected relay stream. */
export class NoiseStreamTransport implements MessageTransport {
  readonly kind = "relay";
  readonly description: string;
  readonly streamId: string;
  readonly #noise: NoiseTransport;
  readonly #sink: StreamSink;
  readonly #reorder = new SeqReorder<Uint8Array>();
  readonly #decoder = new MessageDecoder();
  #handlers: TransportHandlers | null = null;
  #early: string[] = [];
  #nextSeq = 0;
  #closed = false;

  constructor(streamId: string, noise: NoiseTransport, sink: StreamSink, description: string) {
    this.streamId = streamId;
    this.#noise = noise;
    this.#sink = sink;
    this.description = description;
  }

  get bufferedBytes(): number {
    return this.#closed ? 0 : this.#sink.bufferedBytes;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const text of early) handlers.onMessage(text);
  }

  send(message: OutgoingMessage, onWritten?: () => void): void {
    if (this.#closed) return;
    const text = messageText(message);
    for (const record of frameMessage(encoder.encode(text))) {
      if (this.#nextSeq > MAX_SEQ) {
        this.close("relay sequence number exhausted");
        return;
      }
      this.#sink.sendFrame(dataFrame(this.streamId, this.#nextSeq++, this.#noise.encrypt(record)));
    }
    if (onWritten) queueMicrotask(onWritten);
  }

  async whenWritable(): Promise<void> {
    for (
      let i = 0;
      i < 100_000 && !this.#closed && this.#sink.bufferedBytes > DEFAULT_HIGH_WATER_BYTES / 2;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /**
   * One incoming `Data` frame. Throws (the caller resets the stream) on a replayed or far-ahead `seq`, a
   * record that does not decrypt, or a message that is not UTF-8.
   */
  receiveData(seq: number, payload: Uint8Array): void {
    if (this.#closed) return;
    for (const ciphertext of this.#reorder.push(seq, payload)) {
      const plaintext = this.#noise.decrypt(ciphertext);
      for (const message of this.#decoder.push(plaintext)) {
        const text = decoder.decode(message);
        if (this.#handlers) this.#handlers.onMessage(text);
        else this.#early.push(text);
      }
    }
  }

  /** The peer or the relay ended the stream (`Reset`, or the socket closed). */
  remoteClosed(reason: string): void {
    this.#finish(reason);
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#sink.onLocalClose(reason);
    this.#finish(reason);
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers?.onClose(reason);
  }
}
