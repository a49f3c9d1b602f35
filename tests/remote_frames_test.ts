import assert from "node:assert/strict";
import {
  dataFrame,
  decodeRelayFrame,
  encodeRelayFrame,
  handshakeFrame,
  RelayFrameError,
  resetFrame,
  resumeFrame,
  validateRelayFrame,
} from "../src/remote/relay_frame.ts";
import {
  frameMessage,
  MessageDecoder,
  RECORD_PLAINTEXT_LEN,
  SeqReorder,
} from "../src/remote/record_framing.ts";

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("relay frames: Resume encodes as Codex's bytes (08 01 12 24 <uuid> 3a 00)", () => {
  assert.deepEqual([...resumeFrame(UUID)], [0x08, 0x01, 0x12, 0x24, ...utf8(UUID), 0x3a, 0x00]);
});

Deno.test("relay frames: data, reset and handshake round-trip through the codec", () => {
  const data = decodeRelayFrame(dataFrame(UUID, 300, new Uint8Array([1, 2, 3])));
  assert.deepEqual(validateRelayFrame(data), {
    kind: "data",
    seq: 300,
    segmentIndex: 0,
    segmentCount: 1,
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.deepEqual(validateRelayFrame(decodeRelayFrame(resetFrame(UUID, "why"))), {
    kind: "reset",
    reason: "why",
  });
  const big = new Uint8Array(3600).fill(9);
  const hs = validateRelayFrame(decodeRelayFrame(handshakeFrame(UUID, big)));
  assert.equal(hs.kind, "handshake");
  assert.equal(hs.kind === "handshake" && hs.payload.length, 3600);
});

Deno.test("relay frames: version 2, a missing body, a bad data frame and junk are refused", () => {
  const v2 = encodeRelayFrame({
    version: 2,
    streamId: UUID,
    ack: 0,
    ackBits: 0,
    body: { kind: "resume", nextSeq: 0 },
  });
  assert.throws(() => validateRelayFrame(decodeRelayFrame(v2)), /unsupported relay message frame version 2/);
  // Tags 11 and 12 are no body we know.
  for (const tag of [11, 12]) {
    const bytes = Uint8Array.from([0x08, 0x01, 0x12, 0x01, 0x61, (tag << 3) | 2, 0x00]);
    assert.throws(() => validateRelayFrame(decodeRelayFrame(bytes)), /missing body/);
  }
  const empty = encodeRelayFrame({
    version: 1,
    streamId: UUID,
    ack: 0,
    ackBits: 0,
    body: { kind: "data", seq: 0, segmentIndex: 0, segmentCount: 1, payload: new Uint8Array(0) },
  });
  assert.throws(() => validateRelayFrame(decodeRelayFrame(empty)), /missing required fields/);
  assert.throws(() => decodeRelayFrame(Uint8Array.from([0x0a, 0x05, 0x01])), RelayFrameError);
});

Deno.test("record framing: u32be length prefix, 60 KiB records, reassembly across records", () => {
  const message = new Uint8Array(150_000).fill(65);
  const records = frameMessage(message);
  assert.deepEqual([...records[0].subarray(0, 4)], [0x00, 0x02, 0x49, 0xf0]);
  assert.equal(records[0].length, RECORD_PLAINTEXT_LEN);
  assert.equal(records.length, 3);
  const decoder = new MessageDecoder();
  const out = records.flatMap((r) => decoder.push(r));
  assert.equal(out.length, 1);
  assert.equal(out[0].length, 150_000);
  const two = [...frameMessage(utf8("a")), ...frameMessage(utf8("bc"))];
  const joined = new Uint8Array(two.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of two) joined.set(r, o), o += r.length;
  assert.deepEqual(new MessageDecoder().push(joined).map((m) => new TextDecoder().decode(m)), ["a", "bc"]);
});

Deno.test("seq reorder: out-of-order records are delivered in order; a replay is refused", () => {
  const reorder = new SeqReorder<string>();
  assert.deepEqual(reorder.push(1, "b"), []);
  assert.deepEqual(reorder.push(0, "a"), ["a", "b"]);
  assert.throws(() => reorder.push(1, "b"), /duplicate relay sequence/);
});
