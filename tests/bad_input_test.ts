import assert from "node:assert/strict";
import { SERVER_ARGV, TRANSPORTS, withPeer } from "./support/servers.ts";

/** [label, raw message, expected id, expected code, message pattern]; `null` code means "no reply". */
const CASES: [string, string, unknown, number | null, RegExp][] = [
  ["not JSON", "garbage", -1, -32600, /failed to parse .*JSON-RPC message from exec-server .*: /],
  ["truncated JSON", '{"id":1,"method":"environment/in', -1, -32600, /failed to parse/],
  ["a bare number", "42", -1, -32600, /did not match any variant/],
  ["an empty batch", "[]", -1, -32600, /batch must not be empty/],
  ["a batch", '[{"id":1,"method":"environment/info"}]', -1, -32600, /batches are not supported/],
  ["no method, no result", '{"jsonrpc":"2.0"}', -1, -32600, /did not match any variant/],
  [
    "unknown method",
    '{"id":"u1","method":"bogus/method"}',
    "u1",
    -32601,
    /exec-server stub does not implement `bogus\/method` yet/,
  ],
  ["empty method", '{"id":2,"method":""}', 2, -32601, /does not implement `` yet/],
  [
    "params of the wrong type",
    '{"id":3,"method":"process/read","params":"x"}',
    3,
    -32602,
    /expected struct ReadParams/,
  ],
  [
    "missing params",
    '{"id":4,"method":"process/start"}',
    4,
    -32602,
    /invalid type: null, expected struct ExecParams/,
  ],
  [
    "a wrong field type",
    '{"id":5,"method":"process/read","params":{"processId":1}}',
    5,
    -32602,
    /invalid type: integer `1`, expected a string for field `processId`/,
  ],
  [
    "a fractional u64",
    '{"id":6,"method":"process/read","params":{"processId":"p","waitMs":1.5}}',
    6,
    -32602,
    /invalid number/,
  ],
  [
    "invalid base64",
    '{"id":7,"method":"process/write","params":{"processId":"p","chunk":"a b"}}',
    7,
    -32602,
    /Invalid symbol 32, offset 1\./,
  ],
  [
    "empty argv",
    '{"id":8,"method":"process/start","params":{"processId":"p","argv":[],"cwd":"/tmp","env":{},"tty":false}}',
    8,
    -32602,
    /argv must not be empty/,
  ],
  [
    "environment/info with params",
    '{"id":9,"method":"environment/info","params":{"x":1}}',
    9,
    -32602,
    /invalid type: map, expected unit/,
  ],
  [
    "a relative fs path",
    '{"id":10,"method":"fs/readFile","params":{"path":"rel.txt"}}',
    10,
    -32602,
    /path is not absolute: rel.txt/,
  ],
  [
    "a huge integer id echoed exactly",
    '{"id":9223372036854775807,"method":"nope"}',
    "9223372036854775807",
    -32601,
    /nope/,
  ],
  [
    "a huge integer id after params that hold their own id",
    '{"params":{"id":1},"id":9223372036854775806,"method":"nope"}',
    "9223372036854775806",
    -32601,
    /nope/,
  ],
  [
    "a huge integer id on a deeply nested message",
    `{"id":9223372036854775805,"method":"nope","params":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    "9223372036854775805",
    -32601,
    /nope/,
  ],
  ["a string id", '{"id":"","method":"nope"}', "", -32601, /nope/],
  ["a negative id", '{"id":-5,"method":"nope"}', -5, -32601, /nope/],
  ["an unknown notification", '{"method":"bogus/notification"}', undefined, null, /./],
  ["a client response", '{"id":77,"result":{}}', undefined, null, /./],
  ["a notification with a float id", '{"id":1.5,"method":"environment/info"}', undefined, null, /./],
  ["initialized twice", '{"method":"initialized"}', undefined, null, /./],
];

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] every bad input gets a clear error and the connection keeps serving`, async () => {
    await withPeer(transport, async (peer) => {
      for (const [label, raw, id, code, message] of CASES) {
        const before = peer.replies.length;
        peer.sendRaw(raw);
        // A quick request behind each case proves the connection still serves, and orders the check.
        const probe = await peer.call("environment/info");
        assert.ok(probe.shell, label);
        const replies = peer.replies.slice(before).filter((r) => !(r.result && r.result.shell));
        if (code === null) {
          assert.equal(replies.length, 0, `${label}: expected no reply, got ${JSON.stringify(replies)}`);
          continue;
        }
        // Replies to concurrent requests may come in any order: wait for this one if the probe overtook it.
        if (replies.length === 0 && id !== undefined && id !== null) {
          await peer.until(
            () => peer.replies.slice(before).some((r) => !(r.result && r.result.shell)),
            `${label}: its reply`,
            5_000,
          );
          replies.push(...peer.replies.slice(before).filter((r) => !(r.result && r.result.shell)));
        }
        assert.equal(replies.length, 1, `${label}: ${JSON.stringify(replies)}`);
        const reply = replies[0];
        if (label.includes("huge integer")) {
          // The id must come back with the same digits (JSON.parse would round them, so check the raw text).
          assert.ok(peer.raw.some((text) => text.includes(`"id":${id}`)), `${label}: ${peer.raw.at(-2)}`);
        } else {
          assert.deepEqual(reply.id, id, label);
        }
        assert.equal(reply.error?.code, code, `${label}: ${JSON.stringify(reply)}`);
        assert.match(reply.error!.message, message, label);
      }
    });
  });

  Deno.test(`[${transport}] handshake gates answer -32600 per method family`, async () => {
    await withPeer(transport, async (peer) => {
      const gate = async (method: string, params: unknown, expected: RegExp) => {
        const reply = await peer.request(method, params);
        assert.equal(reply.error?.code, -32600, `${method}: ${JSON.stringify(reply)}`);
        assert.match(reply.error!.message, expected);
      };
      await gate(
        "environment/info",
        null,
        /^client must call initialize before using environment info methods$/,
      );
      await gate(
        "process/read",
        { processId: "p" },
        /^client must call initialize before using exec methods$/,
      );
      await gate(
        "fs/getMetadata",
        { path: "/" },
        /^client must call initialize before using filesystem methods$/,
      );
      await gate(
        "http/request",
        { method: "GET", url: "http://127.0.0.1:1/", requestId: "r" },
        /before using http methods/,
      );
      await peer.call("initialize", { clientName: "t" });
      await gate(
        "fs/getMetadata",
        { path: "/" },
        /^client must send initialized before using filesystem methods$/,
      );
      await gate("initialize", { clientName: "t" }, /^initialize may only be sent once per connection$/);
      peer.notify("initialized");
      assert.equal((await peer.call("fs/getMetadata", { path: "/" })).isDirectory, true);
    }, { handshake: false });
  });

  Deno.test(`[${transport}] an oversized message gets an error naming the limit and the connection survives`, async () => {
    await withPeer(transport, async (peer) => {
      const big = "x".repeat(2 * 1024 * 1024);
      const reply = await peer.request("process/write", { processId: "p", chunk: big }, 4242);
      assert.equal(reply.error?.code, -32600);
      assert.match(reply.error!.message, /exceeds the maximum message size of 1048576 bytes/);
      assert.ok((await peer.call("environment/info")).shell);
    }, { serverArgs: ["--max-message-bytes", "1048576"], serverOptions: { maxMessageBytes: 1024 * 1024 } });
  });
}

Deno.test("[stdio] a line of invalid UTF-8 gets a parse error instead of killing the connection", async () => {
  const child = new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), "--listen", "stdio"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  await writer.write(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a])); // "{\xff\xfe}\n"
  await writer.write(encoder.encode('{"id":1,"method":"initialize","params":{"clientName":"t"}}\n'));
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (lines.length < 2) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    lines.push(...parts.filter((l) => l.trim() !== ""));
  }
  await writer.close();
  await reader.cancel();
  assert.equal((await child.status).code, 0);
  const [parseError, initialized] = lines.map((l) => JSON.parse(l));
  assert.equal(parseError.id, -1);
  assert.match(parseError.error.message, /not valid UTF-8/);
  assert.equal(initialized.id, 1);
  assert.ok(initialized.result.sessionId);
});

Deno.test("environment names with '=' or NUL, or empty, are invalid params and start nothing", async () => {
  await withPeer("websocket", async (peer) => {
    const cases: Array<{ env?: Record<string, string>; set?: Record<string, string> }> = [
      { env: { "PATH=/evil": "1" } },
      { env: { "": "x" } },
      { env: { "A\u0000B": "x" } },
      { env: { OK: "a\u0000b" } },
      { set: { "PATH=/evil": "1" } },
      { set: { "": "x" } },
    ];
    for (const [index, item] of cases.entries()) {
      const processId = `bad-env-${index}`;
      const reply = await peer.request("process/start", {
        processId,
        argv: ["/usr/bin/env"],
        cwd: "/tmp",
        env: item.env ?? { PATH: "/usr/bin:/bin" },
        tty: false,
        ...(item.set
          ? {
            envPolicy: {
              inherit: "none",
              ignoreDefaultExcludes: true,
              exclude: [],
              set: item.set,
              includeOnly: [],
            },
          }
          : {}),
      });
      assert.equal(reply.error?.code, -32602, `${JSON.stringify(item)}: ${JSON.stringify(reply)}`);
      assert.match(reply.error.message, /environment variable name|contains NUL/);
      const read = await peer.request("process/read", { processId, afterSeq: 0 });
      assert.ok(read.error, "no process was started");
    }
  });
});
