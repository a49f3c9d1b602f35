/** The top-level request id is echoed exactly, whatever the params hold. */
import assert from "node:assert/strict";
import { encodeError, parseMessage, sniffLeadingId } from "../src/protocol/envelope.ts";

function requestId(text: string): unknown {
  // Beyond i64: not a valid id, so the message is a notification, never answered with the nested id.
  const outcome = parseMessage(text);
  if (!outcome.ok || outcome.message.kind !== "request") assert.fail(`not a request: ${text.slice(0, 60)}`);
  return outcome.message.id;
}

Deno.test("a big integer id is taken from the top level even behind params nested 6000 deep with an id", () => {
  const depth = 6000;
  const params = `{"a":`.repeat(depth) + `{"id":5,"x":["}",{"id":7}]}` + "}".repeat(depth);
  for (
    const text of [
      `{"jsonrpc":"2.0","method":"environment/info","params":${params},"id":9007199254740993}`,
      `{"params":${params},"id":-9007199254740995,"method":"m"}`,
      `{"jsonrpc":"2.0","id":9223372036854775807,"method":"m","params":${params}}`,
      `{"s":"\\"id\\":1","n":[1,2,{"id":3}],"id" : 9007199254740999,"method":"m"}`,
    ]
  ) {
    const id = requestId(text);
    const expected = /"id" ?: ?(-?\d+),"method"|"id" ?: ?(-?\d+)}$/.exec(text);
    const digits = expected?.[1] ?? expected?.[2];
    assert.deepEqual(id, { rawJSON: digits }, text.slice(-80));
  }
  // Beyond i64: not a valid id, so the message is a notification, never answered with the nested id.
  const outcome = parseMessage(`{"s":"\\"id\\":1","n":[{"id":3}],"id":12345678901234567890,"method":"m"}`);
  assert.ok(outcome.ok && outcome.message.kind === "notification");
});

Deno.test("an oversized message's leading integer id is echoed with its exact digits, as a parsed one is", () => {
  const error = { code: -32600, message: "too large" };
  for (
    const digits of [
      "7",
      "-12",
      "1234567890123456", // 16 digits: still a safe integer
      "9007199254740993", // 2^53 + 1
      "-9007199254740995",
      "9223372036854775807", // i64 max
      "-9223372036854775808", // i64 min
    ]
  ) {
    const prefix = `{"jsonrpc":"2.0","id":${digits},"method":"fs/writeFile","params":{"dataBase64":"AAAA`;
    const echoed = encodeError(sniffLeadingId(prefix), error);
    const parsed = parseMessage(`{"jsonrpc":"2.0","id":${digits},"method":"m"}`);
    assert.ok(parsed.ok && parsed.message.kind === "request");
    assert.equal(echoed, encodeError(parsed.message.id, error), digits);
    assert.ok(echoed.includes(`"id":${digits},`), echoed);
  }
  // Beyond i64 the id is not valid (the parsed message would be a notification): nothing to echo.
  assert.equal(sniffLeadingId(`{"id":9223372036854775808,"method":"m","params":"`), null);
  assert.equal(sniffLeadingId(`{"id":123456789012345678901234567890,"method":"m","params":"`), null);
  // Not JSON: a leading zero is no number.
  assert.equal(sniffLeadingId(`{"id":012,"method":"m","params":"`), null);
  assert.equal(sniffLeadingId(`{"id":"abc","method":"m","params":"`), "abc");
});
