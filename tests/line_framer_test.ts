/** `LineFramer`: CRLF, blank lines, UTF-8 across chunks, the size cap and recovery after an oversized line. */
import assert from "node:assert/strict";
import { LineFramer } from "../src/rpc/line_framer.ts";

interface Framed {
  lines: string[];
  errors: Array<{ reason: string; prefix: string }>;
  framer: LineFramer;
}

function framer(maxBytes = 1024): Framed {
  const lines: string[] = [];
  const errors: Array<{ reason: string; prefix: string }> = [];
  const framer = new LineFramer(maxBytes, {
    onLine: (line) => lines.push(line),
    onFramingError: (reason, prefix) => errors.push({ reason, prefix }),
  });
  return { lines, errors, framer };
}

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("LineFramer strips CRLF line endings, also when \\r and \\n arrive in different chunks", () => {
  const { lines, errors, framer: f } = framer();
  f.push(bytes('{"a":1}\r\n{"b":2}\r'));
  f.push(bytes('\n{"c":3}\n'));
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.deepEqual(errors, []);
});

Deno.test("LineFramer keeps a \\r that is not at the end of the line", () => {
  const { lines, framer: f } = framer();
  f.push(bytes('"a\rb"\n'));
  assert.deepEqual(lines, ['"a\rb"']);
});

Deno.test("LineFramer skips blank and whitespace-only lines", () => {
  const { lines, errors, framer: f } = framer();
  f.push(bytes("\n\r\n  \t \n{}\n\n"));
  assert.deepEqual(lines, ["{}"]);
  assert.deepEqual(errors, []);
});

Deno.test("LineFramer decodes a multi-byte character split across chunks once the line is whole", () => {
  const { lines, errors, framer: f } = framer();
  const line = bytes('"€😀"\n');
  // Every split point, including inside each character.
  for (let cut = 1; cut < line.length; cut++) {
    f.push(line.slice(0, cut));
    f.push(line.slice(cut));
  }
  assert.equal(lines.length, line.length - 1);
  for (const got of lines) assert.equal(got, '"€😀"');
  assert.deepEqual(errors, []);
});

Deno.test("LineFramer accepts a line of exactly the maximum size and rejects one byte more", () => {
  const { lines, errors, framer: f } = framer(8);
  f.push(bytes("12345678\n123456789\n"));
  assert.deepEqual(lines, ["12345678"]);
  assert.equal(errors.length, 1);
  assert.match(errors[0].reason, /exceeds the maximum message size of 8 bytes/);
});

Deno.test("LineFramer reports an oversized line once, with its prefix, and frames the next line normally", () => {
  const { lines, errors, framer: f } = framer(64);
  const big = `{"id":7,"params":"${"x".repeat(1000)}"}`;
  // The oversized line arrives in several chunks, the next line in the same chunk as its end.
  f.push(bytes(big.slice(0, 30)));
  f.push(bytes(big.slice(30, 500)));
  f.push(bytes(`${big.slice(500)}\n{"id":8}\n`));
  assert.equal(errors.length, 1);
  assert.match(
    errors[0].reason,
    /^message of at least \d+ bytes exceeds the maximum message size of 64 bytes$/,
  );
  assert.ok(errors[0].prefix.startsWith('{"id":7,'), "the prefix lets the caller recover the id");
  assert.deepEqual(lines, ['{"id":8}']);
});

Deno.test("LineFramer reports invalid UTF-8 as a framing error but passes a literal U+FFFD", () => {
  const { lines, errors, framer: f } = framer();
  f.push(new Uint8Array([0x22, 0xff, 0xfe, 0x22, 0x0a]));
  f.push(bytes('"\uFFFD"\n'));
  assert.deepEqual(errors.map((e) => e.reason), ["message is not valid UTF-8"]);
  assert.deepEqual(lines, ['"\uFFFD"']);
});

Deno.test("LineFramer.end() delivers a final line without a newline, and reports an oversized one", () => {
  const last = framer();
  last.framer.push(bytes('{"a":1}\n{"b":2}'));
  assert.deepEqual(last.lines, ['{"a":1}']);
  last.framer.end();
  assert.deepEqual(last.lines, ['{"a":1}', '{"b":2}']);

  const oversized = framer(4);
  oversized.framer.push(bytes("123456"));
  assert.deepEqual(oversized.errors, [], "nothing is reported before the line ends");
  oversized.framer.end();
  assert.equal(oversized.errors.length, 1);
  assert.deepEqual(oversized.lines, []);
});
