import assert from "node:assert/strict";
import {
  Base64DecodeError,
  base64Error,
  decodeBase64,
  decodeBase64Chunks,
  encodeBase64,
} from "../src/util/base64.ts";

Deno.test("fs/base64 decodes canonical standard base64", () => {
  assert.deepEqual(decodeBase64("aGVsbG8="), new TextEncoder().encode("hello"));
  assert.deepEqual(decodeBase64(""), new Uint8Array());
  assert.deepEqual(decodeBase64("+/+/"), new Uint8Array([0xfb, 0xff, 0xbf]));
  assert.equal(encodeBase64(new TextEncoder().encode("hello")), "aGVsbG8=");
});

Deno.test("fs/base64 rejects what the Rust base64 crate rejects, with its messages", () => {
  const cases: [string, string][] = [
    ["!aGV", "Invalid symbol 33, offset 0."],
    ["aGVs bG8=", "Invalid symbol 32, offset 4."],
    ["aGVsbG8=\n", "Invalid symbol 10, offset 8."],
    ["a-_b", "Invalid symbol 45, offset 1."],
    ["aGVsbG8", "Invalid padding"],
    ["a", "Invalid input length: 1"],
    ["aGVsbG9=", "Invalid last symbol 57, offset 6."],
    ["ab=c", "Invalid symbol 61, offset 2."],
    ["ab==cdef", "Invalid symbol 61, offset 2."],
    ["é123", "Invalid symbol 195, offset 0."],
  ];
  for (const [input, message] of cases) {
    assert.equal(base64Error(input), message, JSON.stringify(input));
    assert.throws(
      () => decodeBase64(input),
      (e: unknown) => e instanceof Base64DecodeError && e.message === message,
    );
  }
});

Deno.test("fs/base64 decodes validated input in pieces that concatenate to the whole", () => {
  const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 7919) & 0xff);
  const encoded = encodeBase64(bytes);
  const pieces = Array.from(decodeBase64Chunks(encoded, 1001), (p) => p.slice()); // views of one reused buffer
  assert.ok(pieces.length > 1);
  const joined = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) joined.set(piece, (at += piece.length) - piece.length);
  assert.deepEqual(joined, bytes);
});
