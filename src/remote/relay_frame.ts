/**
 * The relay's binary frames: protobuf `codex.exec_server.relay.v1.RelayMessageFrame`, with a minimal
 * hand-written codec (varints and length-delimited fields; unknown fields are skipped as protobuf does).
 *
 * ```
 * RelayMessageFrame { uint32 version = 1; string stream_id = 2; uint32 ack = 3; uint32 ack_bits = 4;
 *   oneof body { RelayData data = 5; RelayAck ack_frame = 6; RelayResume resume = 7; RelayReset reset = 8;
 *                RelayHeartbeat heartbeat = 9; RelayHandshake handshake = 10 } }
 * RelayData { uint32 seq = 1; uint32 segment_index = 2; uint32 segment_count = 3; bytes payload = 4 }
 * RelayResume { uint32 next_seq = 1 }  RelayReset { string reason = 1 }  RelayHandshake { bytes payload = 1 }
 * ```
 *
 * @module
 */

export const RELAY_FRAME_VERSION = 1;
/** The longest stream id we accept (bytes). */
export const MAX_STREAM_ID_BYTES = 128;

export type RelayBody =
  | { kind: "data"; seq: number; segmentIndex: number; segmentCount: number; payload: Uint8Array }
  | { kind: "ack" }
  | { kind: "resume"; nextSeq: number }
  | { kind: "reset"; reason: string }
  | { kind: "heartbeat" }
  | { kind: "handshake"; payload: Uint8Array };

export interface RelayFrame {
  version: number;
  streamId: string;
  ack: number;
  ackBits: number;
  body: RelayBody | null;
}

/** A frame that cannot be decoded or that breaks the frame rules. */
export class RelayFrameError extends Error {
  override name = "RelayFrameError";
}

const BODY_TAGS: Record<RelayBody["kind"], number> = {
  data: 5,
  ack: 6,
  resume: 7,
  reset: 8,
  heartbeat: 9,
  handshake: 10,
};

class Writer {
  readonly #parts: number[] = [];
  varint(value: number): void {
    let v = value >>> 0;
    while (v > 0x7f) {
      this.#parts.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.#parts.push(v);
  }
  uint32(field: number, value: number): void {
    if (value === 0) return; // proto3 default: omitted
    this.varint(field << 3);
    this.varint(value);
  }
  bytes(field: number, value: Uint8Array, always = false): void {
    if (value.length === 0 && !always) return;
    this.varint((field << 3) | 2);
    this.varint(value.length);
    for (const b of value) this.#parts.push(b);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function encodeBody(body: RelayBody): Uint8Array {
  const w = new Writer();
  switch (body.kind) {
    case "data":
      w.uint32(1, body.seq);
      w.uint32(2, body.segmentIndex);
      w.uint32(3, body.segmentCount);
      w.bytes(4, body.payload);
      break;
    case "resume":
      w.uint32(1, body.nextSeq);
      break;
    case "reset":
      w.bytes(1, encoder.encode(body.reason));
      break;
    case "handshake":
      w.bytes(1, body.payload);
      break;
  }
  return w.finish();
}

/** Encodes a frame (the body is always written, even when empty, so the oneof is set). */
export function encodeRelayFrame(frame: RelayFrame): Uint8Array {
  const w = new Writer();
  w.uint32(1, frame.version);
  w.bytes(2, encoder.encode(frame.streamId));
  w.uint32(3, frame.ack);
  w.uint32(4, frame.ackBits);
  if (frame.body) w.bytes(BODY_TAGS[frame.body.kind], encodeBody(frame.body), true);
  return w.finish();
}

function frameOf(streamId: string, body: RelayBody): RelayFrame {
  return { version: RELAY_FRAME_VERSION, streamId, ack: 0, ackBits: 0, body };
}

/** `Data` with one record (`segment_index` 0 of `segment_count` 1). */
export function dataFrame(streamId: string, seq: number, payload: Uint8Array): Uint8Array {
  return encodeRelayFrame(
    frameOf(streamId, { kind: "data", seq, segmentIndex: 0, segmentCount: 1, payload }),
  );
}
export function resetFrame(streamId: string, reason: string): Uint8Array {
  return encodeRelayFrame(frameOf(streamId, { kind: "reset", reason }));
}
export function handshakeFrame(streamId: string, payload: Uint8Array): Uint8Array {
  return encodeRelayFrame(frameOf(streamId, { kind: "handshake", payload }));
}
export function resumeFrame(streamId: string): Uint8Array {
  return encodeRelayFrame(frameOf(streamId, { kind: "resume", nextSeq: 0 }));
}

class Reader {
  #offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.#offset >= this.bytes.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#offset >= this.bytes.length) throw new RelayFrameError("truncated varint");
      const b = this.bytes[this.#offset++];
      if (shift < 32) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return shift >= 32 ? result >>> 0 : result % 2 ** 32;
      shift += 7;
    }
    throw new RelayFrameError("varint is too long");
  }
  take(n: number): Uint8Array {
    if (this.#offset + n > this.bytes.length) throw new RelayFrameError("truncated field");
    const out = this.bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }
  /** Reads one field: its number, wire type and (for varints) value or (for bytes) contents. */
  field(): { field: number; wire: number; value: number; data: Uint8Array | null } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new RelayFrameError("invalid field number 0");
    switch (wire) {
      case 0:
        return { field, wire, value: this.varint(), data: null };
      case 1:
        this.take(8);
        return { field, wire, value: 0, data: null };
      case 2:
        return { field, wire, value: 0, data: this.take(this.varint()) };
      case 5:
        this.take(4);
        return { field, wire, value: 0, data: null };
      default:
        throw new RelayFrameError(`invalid wire type ${wire}`);
    }
  }
}

function wrongWire(what: string): never {
  throw new RelayFrameError(`invalid wire type for ${what}`);
}

function decodeBody(tag: number, bytes: Uint8Array): RelayBody {
  const r = new Reader(bytes);
  const ints = new Map<number, number>();
  const blobs = new Map<number, Uint8Array>();
  while (!r.done) {
    const f = r.field();
    if (f.wire === 0) ints.set(f.field, f.value);
    else if (f.wire === 2) blobs.set(f.field, f.data!);
  }
  const int = (n: number) => ints.get(n) ?? 0;
  const blob = (n: number) => blobs.get(n) ?? new Uint8Array(0);
  switch (tag) {
    case 5:
      return {
        kind: "data",
        seq: int(1),
        segmentIndex: int(2),
        segmentCount: int(3),
        payload: blob(4).slice(),
      };
    case 6:
      return { kind: "ack" };
    case 7:
      return { kind: "resume", nextSeq: int(1) };
    case 8:
      try {
        return { kind: "reset", reason: decoder.decode(blob(1)) };
      } catch {
        throw new RelayFrameError("invalid UTF-8 in reset reason");
      }
    case 9:
      return { kind: "heartbeat" };
    default:
      return { kind: "handshake", payload: blob(1).slice() };
  }
}

/** Decodes a frame (protobuf only; {@link validateRelayFrame} checks the relay's rules). */
export function decodeRelayFrame(bytes: Uint8Array): RelayFrame {
  const r = new Reader(bytes);
  const frame: RelayFrame = { version: 0, streamId: "", ack: 0, ackBits: 0, body: null };
  while (!r.done) {
    const f = r.field();
    switch (f.field) {
      case 1:
        if (f.wire !== 0) wrongWire("version");
        frame.version = f.value;
        break;
      case 2:
        if (f.wire !== 2) wrongWire("stream_id");
        try {
          frame.streamId = decoder.decode(f.data!);
        } catch {
          throw new RelayFrameError("invalid UTF-8 in stream_id");
        }
        break;
      case 3:
        if (f.wire !== 0) wrongWire("ack");
        frame.ack = f.value;
        break;
      case 4:
        if (f.wire !== 0) wrongWire("ack_bits");
        frame.ackBits = f.value;
        break;
      default:
        if (f.field >= 5 && f.field <= 10) {
          if (f.wire !== 2) wrongWire("body");
          frame.body = decodeBody(f.field, f.data!);
        }
    }
  }
  return frame;
}

/** Checks the relay's rules; returns the body or throws with Codex's texts. */
export function validateRelayFrame(frame: RelayFrame): RelayBody {
  if (frame.version !== RELAY_FRAME_VERSION) {
    throw new RelayFrameError(`unsupported relay message frame version ${frame.version}`);
  }
  if (frame.streamId.trim() === "") throw new RelayFrameError("relay message frame is missing stream_id");
  if (encoder.encode(frame.streamId).length > MAX_STREAM_ID_BYTES) {
    throw new RelayFrameError("relay message frame stream_id is too long");
  }
  const body = frame.body;
  if (!body) throw new RelayFrameError("relay message frame is missing body");
  if (
    body.kind === "data" && (body.segmentIndex !== 0 || body.segmentCount !== 1 || body.payload.length === 0)
  ) {
    throw new RelayFrameError("relay data message frame is missing required fields");
  }
  if (body.kind === "reset" && body.reason === "") {
    throw new RelayFrameError("relay reset message frame is missing reason");
  }
  if (body.kind === "handshake" && body.payload.length === 0) {
    throw new RelayFrameError("relay handshake message frame is missing payload");
  }
  return body;
}
