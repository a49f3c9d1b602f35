import assert from "node:assert/strict";
const assertEquals = (a: unknown, b: unknown) => assert.deepStrictEqual(a, b);
const assertThrows = (f: () => unknown, type: new (...a: never[]) => Error, text?: string) =>
  assert.throws(
    f,
    (e: unknown) => e instanceof type && (text === undefined || (e as Error).message.includes(text)),
  );
import {
  dhKeyPairFromSecret,
  type HandshakePattern,
  NoiseHandshake,
  type NoiseTransport,
} from "../src/remote/noise_handshake.ts";
import {
  generateNoiseIdentity,
  NoiseInitiator,
  noisePrologue,
  NoiseResponder,
  publicKeyFromJson,
  publicKeys,
  publicKeyToJson,
} from "../src/remote/noise_channel.ts";
import { NoiseError } from "../src/remote/noise_symmetric.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

const IK: HandshakePattern = {
  name: "IK",
  responderPreMessage: ["s"],
  messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]],
};

// The cacophony vector for Noise_IK_25519_AESGCM_SHA256 (also used by snow and other implementations).
const VECTOR = {
  prologue: "John Galt",
  initStatic: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
  initEphemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
  respStatic: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
  respEphemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
  hash: "669c8640d9e42a3cda2f232f78597ceefb01daa6e3df81181ccce6fc6b5026bf",
  messages: [
    [
      "4c756477696720766f6e204d69736573",
      "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444e417bc55c7a8166c993356c1be41ef67818a292426f301556c7f26b21d25ddb097153891a9a956cff47b83e63ad8d701c1342c209cff1ca5ecd43402762ac249e3bd3a4c0a145fe07cb5dae28ea13a3",
    ],
    [
      "4d757272617920526f746862617264",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843af2ccf9972e22afc67aeafcd25162f7f98c363b7762e3e4cb7d272e39f27a5",
    ],
    ["462e20412e20486179656b", "66acfc92e3197de166809e6d4d5d003dcc819a84bc3522ca53c9d9"],
    ["4361726c204d656e676572", "71f89aa6533a6de70b0826864dd75f60806ee40170c16290189eb3"],
    [
      "4a65616e2d426170746973746520536179",
      "4795a3423550c8bf00386bd496a3e2c76c10669d2a75ab8f79b5094c5412a25705",
    ],
    [
      "457567656e2042f6686d20766f6e2042617765726b",
      "aa0bb39097555c918e40be82abc2b909eb79d9eb87adb07e268fc37323a6cf904fd01fb391",
    ],
  ],
};

Deno.test("Noise IK (classic) reproduces the published Noise_IK_25519_AESGCM_SHA256 vector", () => {
  const prologue = new TextEncoder().encode(VECTOR.prologue);
  const iS = dhKeyPairFromSecret(hex(VECTOR.initStatic));
  const rS = dhKeyPairFromSecret(hex(VECTOR.respStatic));
  const common = { pattern: IK, protocolName: "Noise_IK_25519_AESGCM_SHA256", kem: false, prologue };
  const initiator = new NoiseHandshake({
    ...common,
    initiator: true,
    s: { dh: iS },
    rs: { dh: rS.publicKey },
    e: { dh: dhKeyPairFromSecret(hex(VECTOR.initEphemeral)) },
  });
  const responder = new NoiseHandshake({
    ...common,
    initiator: false,
    s: { dh: rS },
    e: { dh: dhKeyPairFromSecret(hex(VECTOR.respEphemeral)) },
  });
  const [m0, m1, ...transport] = VECTOR.messages;
  const c0 = initiator.writeMessage(hex(m0[0]));
  assertEquals(toHex(c0), m0[1]);
  assertEquals(toHex(responder.readMessage(c0)), m0[0]);
  const c1 = responder.writeMessage(hex(m1[0]));
  assertEquals(toHex(c1), m1[1]);
  assertEquals(toHex(initiator.readMessage(c1)), m1[0]);
  assertEquals(toHex(initiator.handshakeHash), VECTOR.hash);
  assertEquals(toHex(responder.handshakeHash), VECTOR.hash);
  const ti = initiator.split();
  const tr = responder.split();
  transport.forEach(([plain, cipher], i) => {
    const [from, to]: NoiseTransport[] = i % 2 === 0 ? [ti, tr] : [tr, ti];
    const c = from.encrypt(hex(plain));
    assertEquals(toHex(c), cipher);
    assertEquals(toHex(to.decrypt(c)), plain);
  });
});

Deno.test("hybrid IK: message sizes as Codex's, payload and both directions round-trip", () => {
  const executor = generateNoiseIdentity();
  const harness = generateNoiseIdentity();
  const prologue = noisePrologue("env", "reg", "stream-1");
  const auth = new TextEncoder().encode("authorization-token");
  const initiator = new NoiseInitiator(harness, publicKeys(executor), prologue, auth);
  assertEquals(initiator.message1.length, 3568 + auth.length);
  const responder = new NoiseResponder(executor, prologue, initiator.message1);
  assertEquals(new TextDecoder().decode(responder.payload), "authorization-token");
  assertEquals(publicKeyToJson(responder.initiatorKey), publicKeyToJson(publicKeys(harness)));
  const { transport: rt, message2 } = responder.complete();
  assertEquals(message2.length, 3424);
  const it = initiator.finish(message2);
  const hello = new TextEncoder().encode("hello");
  assertEquals(rt.decrypt(it.encrypt(hello)), hello);
  assertEquals(it.decrypt(rt.encrypt(hello)), hello);
});

Deno.test("hybrid IK: a different prologue, a flipped byte or a wrong executor key fail the first message", () => {
  const executor = generateNoiseIdentity();
  const harness = generateNoiseIdentity();
  const auth = new Uint8Array([1, 2, 3]);
  const m1 = new NoiseInitiator(harness, publicKeys(executor), noisePrologue("e", "r", "s1"), auth).message1;
  assertThrows(() => new NoiseResponder(executor, noisePrologue("e", "r", "s2"), m1), NoiseError);
  const tampered = m1.slice();
  tampered[2000] ^= 1;
  assertThrows(() => new NoiseResponder(executor, noisePrologue("e", "r", "s1"), tampered), NoiseError);
  assertThrows(
    () => new NoiseResponder(generateNoiseIdentity(), noisePrologue("e", "r", "s1"), m1),
    NoiseError,
  );
  assertThrows(
    () => new NoiseResponder(executor, noisePrologue("e", "r", "s1"), m1.subarray(0, 100)),
    NoiseError,
  );
});

Deno.test("the prologue is the four parts with big-endian u64 lengths", () => {
  const p = noisePrologue("ab", "c", "");
  const domain = "codex-exec-server-relay-noise/v1";
  assertEquals(p.length, 4 * 8 + domain.length + 3);
  assertEquals([...p.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, domain.length]);
  assertEquals([...p.subarray(8 + domain.length, 8 + domain.length + 8)], [0, 0, 0, 0, 0, 0, 0, 2]);
});

Deno.test("registry public keys: suite, lengths and unknown fields are checked", () => {
  const json = publicKeyToJson(publicKeys(generateNoiseIdentity()));
  assertEquals(publicKeyToJson(publicKeyFromJson(json)), json);
  assertThrows(() => publicKeyFromJson({ ...json, extra: 1 }), NoiseError, "unknown field");
  assertThrows(() => publicKeyFromJson({ ...json, suite: "x" }), NoiseError, "unsupported");
  assertThrows(() => publicKeyFromJson({ ...json, x25519_public_key: "AAAA" }), NoiseError, "length");
});
