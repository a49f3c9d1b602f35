/**
 * `http/request` `redirectPolicy` and header `valueEnvVar` (Codex 0.171), through a real server process on
 * stdio against a real loopback HTTP server; the last test sends the same requests to the real Codex 0.171
 * exec-server and to ours and compares what both answer and what the target saw.
 */
import assert from "node:assert/strict";
import type { Json, RpcPeer } from "./support/rpc_peer.ts";
import { startReferenceStdio } from "./support/reference_stdio.ts";
import { startStdioServer } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";

const SECRET = "parity-secret-7f3a";
const SERVER_ENV = { EXEC_SERVER_TEST_SECRET: SECRET, EXEC_SERVER_TEST_EMPTY: "" };

interface Seen {
  path: string;
  method: string;
  headers: [string, string][];
}

/** A loopback target: `/redir` 302 → `/final`, `/r307` 307 → `/final`; everything else 200 `ok <path>`. */
function startTarget() {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { pathname } = new URL(request.url);
    seen.push({ path: pathname, method: request.method, headers: [...request.headers] });
    if (pathname === "/redir") {
      return new Response("moved", { status: 302, headers: { location: "/final", "x-hop": "redir" } });
    }
    if (pathname === "/r307") {
      return new Response("temporary", { status: 307, headers: { location: "/final" } });
    }
    return new Response(`ok ${pathname}`, { headers: { "x-final": "yes" } });
  });
  return {
    url: (path: string) => `http://127.0.0.1:${server.addr.port}${path}`,
    seen,
    close: () => server.shutdown(),
  };
}

const text = (b64: string) => new TextDecoder().decode(Uint8Array.fromBase64(b64));
const header = (headers: { name: string; value: string }[], name: string) =>
  headers.find((h) => h.name === name)?.value;

async function withOurServer(fn: (peer: RpcPeer) => Promise<void>): Promise<void> {
  const server = startStdioServer([], SERVER_ENV);
  try {
    await server.peer!.handshake();
    await fn(server.peer!);
  } finally {
    await server.close();
  }
}

Deno.test("http/request redirectPolicy stop returns the 302 itself; follow and the default follow it", async () => {
  const target = startTarget();
  try {
    await withOurServer(async (peer) => {
      const stop = await peer.call("http/request", {
        method: "GET",
        url: target.url("/redir"),
        requestId: "h1",
        redirectPolicy: "stop",
      });
      assert.equal(stop.status, 302);
      assert.equal(header(stop.headers, "location"), "/final");
      assert.equal(header(stop.headers, "x-hop"), "redir");
      assert.equal(text(stop.bodyBase64), "moved");
      assert.deepEqual(target.seen.map((s) => s.path), ["/redir"], "the redirect was not followed");

      // serde's map form of the unit variant is the same policy.
      const mapForm = await peer.call("http/request", {
        method: "GET",
        url: target.url("/redir"),
        requestId: "h1",
        redirectPolicy: { stop: null },
      });
      assert.equal(mapForm.status, 302);

      for (const redirectPolicy of ["follow", undefined]) {
        target.seen.length = 0;
        const followed = await peer.call("http/request", {
          method: "GET",
          url: target.url("/redir"),
          requestId: "h1",
          ...(redirectPolicy === undefined ? {} : { redirectPolicy }),
        });
        assert.equal(followed.status, 200, `redirectPolicy ${redirectPolicy}`);
        assert.equal(text(followed.bodyBase64), "ok /final");
        assert.deepEqual(target.seen.map((s) => s.path), ["/redir", "/final"]);
      }
    });
  } finally {
    await target.close();
  }
});

Deno.test("http/request redirectPolicy stop with streamResponse answers the 307 and streams its body", async () => {
  const target = startTarget();
  try {
    await withOurServer(async (peer) => {
      const head = await peer.call("http/request", {
        method: "POST",
        url: target.url("/r307"),
        requestId: "s1",
        bodyBase64: btoa("payload"),
        streamResponse: true,
        redirectPolicy: "stop",
      });
      assert.equal(head.status, 307);
      assert.equal(header(head.headers, "location"), "/final");
      assert.equal(head.bodyBase64, "");
      const deltas = () => peer.notifications.filter((n) => n.method === "http/request/bodyDelta");
      await peer.until(() => deltas().some((d) => d.params.done), "the terminal body frame");
      const frames = deltas().map((d) => d.params);
      assert.equal(frames.map((f) => text(f.deltaBase64)).join(""), "temporary");
      assert.deepEqual(frames.at(-1), {
        requestId: "s1",
        seq: frames.length,
        deltaBase64: "",
        done: true,
        error: null,
      });
      assert.deepEqual(target.seen.map((s) => [s.method, s.path]), [["POST", "/r307"]]);
    });
  } finally {
    await target.close();
  }
});

/** redirectPolicy values 0.171 refuses, with its messages (probed). */
const BAD_POLICIES: [unknown, string][] = [
  ["manual", "unknown variant `manual`, expected `follow` or `stop`"],
  ["Stop", "unknown variant `Stop`, expected `follow` or `stop`"],
  [null, "invalid type: null, expected string or map"],
  [5, "invalid type: number, expected string or map"],
  [true, "invalid type: boolean `true`, expected string or map"],
  [["stop"], "invalid type: sequence, expected string or map"],
  [{}, "invalid value: map, expected map with a single key"],
  [{ stop: null, follow: null }, "invalid value: map, expected map with a single key"],
  [{ bogus: null }, "unknown variant `bogus`, expected `follow` or `stop`"],
  [{ stop: {} }, "invalid type: map, expected unit"],
];

Deno.test("http/request refuses an unknown redirectPolicy with -32602 before sending anything", async () => {
  const target = startTarget();
  try {
    await withOurServer(async (peer) => {
      for (const [redirectPolicy, message] of BAD_POLICIES) {
        const reply = await peer.request("http/request", {
          method: "GET",
          url: target.url("/redir"),
          requestId: "h1",
          redirectPolicy,
        });
        assert.equal(reply.error?.code, -32602, JSON.stringify(redirectPolicy));
        assert.equal(reply.error?.message, `${message} for field \`redirectPolicy\``);
      }
      assert.deepEqual(target.seen, []);
    });
  } finally {
    await target.close();
  }
});

Deno.test("http/request header valueEnvVar appends the server's environment variable; unset or empty is -32602", async () => {
  const target = startTarget();
  try {
    await withOurServer(async (peer) => {
      const ok = await peer.call("http/request", {
        method: "GET",
        url: target.url("/h"),
        requestId: "h1",
        headers: [
          { name: "Authorization", value: "Bearer ", valueEnvVar: "EXEC_SERVER_TEST_SECRET" },
          { name: "x-a", value: "", valueEnvVar: "EXEC_SERVER_TEST_SECRET" },
          { name: "x-plain", value: "v", valueEnvVar: null },
        ],
      });
      assert.equal(ok.status, 200);
      const seen = new Map(target.seen[0].headers);
      assert.equal(seen.get("authorization"), `Bearer ${SECRET}`);
      assert.equal(seen.get("x-a"), SECRET);
      assert.equal(seen.get("x-plain"), "v");

      const refused: [Json, string][] = [
        [
          { name: "X-B", value: "v", valueEnvVar: "EXEC_SERVER_TEST_NO_SUCH_VAR" },
          "http/request header X-B requires executor environment variable EXEC_SERVER_TEST_NO_SUCH_VAR",
        ],
        [
          { name: "x-b", value: "v", valueEnvVar: "EXEC_SERVER_TEST_EMPTY" },
          "http/request header x-b requires a non-empty executor environment variable EXEC_SERVER_TEST_EMPTY",
        ],
        [
          { name: "x-b", value: "v", valueEnvVar: "" },
          "http/request header x-b requires executor environment variable ",
        ],
        [
          { name: "x-b", value: "v", valueEnvVar: "A=B" },
          "http/request header x-b requires executor environment variable A=B",
        ],
        [{ name: "x-b", valueEnvVar: "EXEC_SERVER_TEST_SECRET" }, "missing field `value`"],
      ];
      for (const [bad, message] of refused) {
        const reply = await peer.request("http/request", {
          method: "GET",
          url: target.url("/h"),
          requestId: "h1",
          headers: [bad],
        });
        assert.equal(reply.error?.code, -32602, JSON.stringify(bad));
        assert.equal(
          reply.error?.message.replace(/ for field `[^`]*`$/, ""),
          message.replace(/ for field `[^`]*`$/, ""),
        );
        assert.ok(!reply.error!.message.includes(SECRET));
      }
      assert.equal(target.seen.length, 1, "no refused request reached the target");
    });
  } finally {
    await target.close();
  }
});

/** One request's outcome, comparable across servers: result essentials or the error, plus what the target saw. */
async function outcome(peer: RpcPeer, params: Json, target: ReturnType<typeof startTarget>): Promise<Json> {
  target.seen.length = 0;
  const reply = await withTimeout(peer.request("http/request", params), 20_000, "http/request");
  const seen = target.seen.map((s) => ({
    method: s.method,
    path: s.path,
    headers: s.headers.filter(([n]) => n === "authorization" || n.startsWith("x-")),
  }));
  if (reply.error) {
    return { code: reply.error.code, message: reply.error.message.replace(/ for field `[^`]*`$/, ""), seen };
  }
  const { status, headers, bodyBase64 } = reply.result;
  return { status, location: header(headers, "location") ?? null, body: text(bodyBase64), seen };
}

Deno.test("http/request redirectPolicy and valueEnvVar answer as Codex 0.171 does", async () => {
  const steps: (url: (path: string) => string) => Json[] = (url) => [
    { method: "GET", url: url("/redir"), requestId: "d", redirectPolicy: "stop" },
    { method: "GET", url: url("/redir"), requestId: "d", redirectPolicy: { stop: null } },
    { method: "GET", url: url("/redir"), requestId: "d", redirectPolicy: "follow" },
    { method: "GET", url: url("/redir"), requestId: "d" },
    { method: "POST", url: url("/r307"), requestId: "d", redirectPolicy: "stop", bodyBase64: "YQ==" },
    ...BAD_POLICIES.map(([redirectPolicy]) => ({
      method: "GET",
      url: url("/redir"),
      requestId: "d",
      redirectPolicy,
    })),
    {
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [
        { name: "authorization", value: "Bearer ", valueEnvVar: "EXEC_SERVER_TEST_SECRET" },
        { name: "x-a", value: "", valueEnvVar: "EXEC_SERVER_TEST_SECRET" },
        { name: "x-n", value: "v", valueEnvVar: null },
      ],
    },
    ...["EXEC_SERVER_TEST_NO_SUCH_VAR", "EXEC_SERVER_TEST_EMPTY", "", "A=B"].map((valueEnvVar) => ({
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [{ name: "X-B", value: "v", valueEnvVar }],
    })),
    // Order within the list and within one header: the name, then the variable, then the joined value.
    {
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [{ name: "x-b", value: "v", valueEnvVar: "EXEC_SERVER_TEST_NO_SUCH_VAR" }, {
        name: "bad name",
        value: "v",
      }],
    },
    {
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [{ name: "bad name", value: "v", valueEnvVar: "EXEC_SERVER_TEST_NO_SUCH_VAR" }],
    },
    {
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [{ name: "x-v", value: "\u0001", valueEnvVar: "EXEC_SERVER_TEST_NO_SUCH_VAR" }],
    },
    {
      method: "GET",
      url: url("/h"),
      requestId: "d",
      headers: [{ name: "x-v", value: "\u0001", valueEnvVar: "EXEC_SERVER_TEST_SECRET" }],
    },
    // The variable is checked before anything is sent: a refused port still gives the variable error.
    {
      method: "GET",
      url: "http://127.0.0.1:1/h",
      requestId: "d",
      headers: [{ name: "x-b", value: "v", valueEnvVar: "EXEC_SERVER_TEST_NO_SUCH_VAR" }],
    },
  ];
  const results: Json[][] = [];
  for (const which of ["reference", "ours"]) {
    const target = startTarget();
    const server = which === "reference"
      ? await startReferenceStdio(SERVER_ENV)
      : startStdioServer([], SERVER_ENV);
    try {
      await server.peer!.handshake();
      const record: Json[] = [];
      for (const params of steps(target.url)) {
        // The target's port differs between the two runs.
        record.push(
          JSON.parse(
            JSON.stringify(await outcome(server.peer!, params, target)).replaceAll(target.url(""), "T"),
          ),
        );
      }
      results.push(record);
    } finally {
      await server.close();
      await target.close();
    }
  }
  assert.deepEqual(results[1], results[0]);
});
