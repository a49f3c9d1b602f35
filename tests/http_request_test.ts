import assert from "node:assert/strict";
import { ErrorCode } from "../src/protocol/errors.ts";
import type { HttpRequestParams } from "../src/protocol/http.ts";
import { createHttpRequestHandler } from "../src/http/mod.ts";
import { context, head, startRawServer } from "./http_support.ts";
import { rejectsWith } from "./support/rpc_errors.ts";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

function params(p: Partial<HttpRequestParams> & { url: string }): HttpRequestParams {
  return { method: "GET", requestId: "r1", ...p };
}

/** Echoes the request as JSON: method, target, header lines in order, body base64. */
function echoServer() {
  return startRawServer(async ({ request, write }) => {
    const body = new TextEncoder().encode(JSON.stringify({
      method: request.method,
      target: request.target,
      headers: request.headers,
      body: request.body.toBase64(),
    }));
    await write(head(200, [["Content-Type", "application/json"], ["Content-Length", body.length]]));
    await write(body);
  });
}

function decodeJson(bodyBase64: string) {
  return JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(bodyBase64)));
}

Deno.test("http/request buffered GET sends headers in order with duplicates and returns the body", async () => {
  const server = echoServer();
  try {
    const handler = createHttpRequestHandler({});
    const { result, afterResponse } = await handler.handle(
      params({
        url: server.url("/path?q=1"),
        headers: [{ name: "X-Dup", value: "a" }, { name: "x-dup", value: "b" }, {
          name: "X-Other",
          value: "ü",
        }],
      }),
      context(),
    );
    assert.equal(afterResponse, undefined);
    assert.equal(result.status, 200);
    const echoed = decodeJson(result.bodyBase64);
    assert.equal(echoed.method, "GET");
    assert.equal(echoed.target, "/path?q=1");
    const names = echoed.headers.map(([n]: [string]) => n);
    // Names are sent lower-cased, caller order and duplicates kept; host and accept added.
    assert.deepEqual(names, ["host", "x-dup", "x-dup", "x-other", "accept"]);
    assert.deepEqual(echoed.headers.slice(1, 4), [["x-dup", "a"], ["x-dup", "b"], ["x-other", "ü"]]);
    assert.deepEqual(echoed.headers[0], ["host", `127.0.0.1:${server.port}`]);
    assert.deepEqual(echoed.headers[4], ["accept", "*/*"]);
    assert.deepEqual(result.headers, [
      { name: "content-type", value: "application/json" },
      { name: "content-length", value: String(new TextEncoder().encode(JSON.stringify(echoed)).length) },
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("http/request buffered POST echoes a binary body with all 256 byte values", async () => {
  const server = echoServer();
  try {
    const handler = createHttpRequestHandler();
    const { result } = await handler.handle(
      params({
        method: "POST",
        url: server.url("/upload"),
        headers: [{ name: "Content-Type", value: "application/octet-stream" }],
        bodyBase64: ALL_BYTES.toBase64(),
      }),
      context(),
    );
    const echoed = decodeJson(result.bodyBase64);
    assert.equal(echoed.method, "POST");
    assert.deepEqual(Uint8Array.fromBase64(echoed.body), ALL_BYTES);
    assert.ok(echoed.headers.some(([n, v]: [string, string]) => n === "content-length" && v === "256"));
  } finally {
    await server.close();
  }
});

Deno.test("http/request returns a binary response body byte for byte", async () => {
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Length", 256]]));
    await write(ALL_BYTES);
  });
  try {
    const { result } = await createHttpRequestHandler().handle(params({ url: server.url() }), context());
    assert.deepEqual(Uint8Array.fromBase64(result.bodyBase64), ALL_BYTES);
  } finally {
    await server.close();
  }
});

Deno.test("http/request keeps duplicate response headers in wire order and drops non-UTF-8 values", async () => {
  const server = startRawServer(async ({ write }) => {
    await write(
      head(404, [["X-Multi", "a"], ["Set-Cookie", "s=1"], ["x-multi", "b"], ["Set-Cookie", "t=2"]]).slice(
        0,
        -2,
      ),
    );
    // A Latin-1 value (dropped) and a UTF-8 one (kept), then a chunked body.
    await write(Uint8Array.from([...new TextEncoder().encode("X-Latin: caf"), 0xe9, 13, 10]));
    await write(
      "X-Utf8: café\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
  });
  try {
    const { result } = await createHttpRequestHandler().handle(params({ url: server.url() }), context());
    assert.equal(result.status, 404, "4xx is a result, not an error");
    assert.deepEqual(result.headers, [
      { name: "x-multi", value: "a" },
      { name: "set-cookie", value: "s=1" },
      { name: "x-multi", value: "b" },
      { name: "set-cookie", value: "t=2" },
      { name: "x-utf8", value: "café" },
      { name: "transfer-encoding", value: "chunked" },
    ]);
    assert.equal(new TextDecoder().decode(Uint8Array.fromBase64(result.bodyBase64)), "abcde");
  } finally {
    await server.close();
  }
});

Deno.test("http/request sends a lower-case method as-is", async () => {
  const server = echoServer();
  try {
    const { result } = await createHttpRequestHandler().handle(
      params({ method: "get", url: server.url() }),
      context(),
    );
    assert.equal(server.requests[0].method, "get");
    assert.equal(decodeJson(result.bodyBase64).method, "get");
  } finally {
    await server.close();
  }
});

Deno.test("http/request follows redirects, adds referer, and returns the final response", async () => {
  const server = startRawServer(async ({ request, write }) => {
    if (request.target === "/start") {
      await write(head(302, [["Location", "/middle?x=1"], ["Content-Length", 0]]));
    } else if (request.target === "/middle?x=1") {
      await write(head(307, [["Location", `http://127.0.0.1:${server.port}/final`], ["Content-Length", 0]]));
    } else {
      await write(head(200, [["X-Final", "yes"], ["Content-Length", 4]]) + "done");
    }
  });
  try {
    const { result } = await createHttpRequestHandler().handle(
      params({ method: "POST", url: server.url("/start"), bodyBase64: "AAEC" }),
      context(),
    );
    assert.equal(result.status, 200);
    assert.deepEqual(result.headers, [{ name: "x-final", value: "yes" }, {
      name: "content-length",
      value: "4",
    }]);
    assert.equal(new TextDecoder().decode(Uint8Array.fromBase64(result.bodyBase64)), "done");
    assert.deepEqual(server.requests.map((r) => [r.method, r.target]), [
      ["POST", "/start"],
      ["GET", "/middle?x=1"], // 302 turns POST into GET and drops the body
      ["GET", "/final"],
    ]);
    const referer = (i: number) => server.requests[i].headers.find(([n]) => n === "referer")?.[1];
    assert.equal(referer(0), undefined);
    assert.equal(referer(1), server.url("/start"));
    assert.equal(referer(2), server.url("/middle?x=1"));
    assert.equal(server.requests[1].headers.some(([n]) => n === "content-length"), false);
  } finally {
    await server.close();
  }
});

Deno.test("http/request gives up after 10 redirects", async () => {
  const server = startRawServer(async ({ write }) => {
    await write(head(302, [["Location", "/again"], ["Content-Length", 0]]));
  });
  try {
    await rejectsWith(
      createHttpRequestHandler().handle(params({ url: server.url() }), context()),
      ErrorCode.InternalError,
      `http/request failed: error following redirect for url (${server.url("/again")}): too many redirects`,
    );
    assert.equal(server.requests.length, 11);
  } finally {
    await server.close();
  }
});

Deno.test("http/request fails with -32603 when the connection is refused", async () => {
  // Bind then close a listener so the port is known to be free.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}/x`;
  await rejectsWith(
    createHttpRequestHandler().handle(params({ url }), context()),
    ErrorCode.InternalError,
    `http/request failed: error sending request for url (${url}): connection refused`,
  );
});

Deno.test("http/request timeout before the headers fails with -32603, and 0 fails at once", async () => {
  const stalled = Promise.withResolvers<void>();
  const server = startRawServer(() => stalled.promise);
  try {
    const handler = createHttpRequestHandler();
    const url = server.url("/slow");
    const message = `http/request failed: error sending request for url (${url}): operation timed out`;
    await rejectsWith(
      handler.handle(params({ url, timeoutMs: 100 }), context()),
      ErrorCode.InternalError,
      message,
    );
    await rejectsWith(
      handler.handle(params({ url, timeoutMs: 0 }), context()),
      ErrorCode.InternalError,
      message,
    );
    assert.equal(server.requests.length, 1, "timeoutMs 0 never connects");
  } finally {
    stalled.resolve();
    await server.close();
  }
});

Deno.test("http/request buffered body cut mid-way fails with the body error", async () => {
  const server = startRawServer(async ({ write }) => {
    await write(head(200, [["Content-Length", 1000]]) + "partial");
  });
  try {
    await rejectsWith(
      createHttpRequestHandler().handle(params({ url: server.url() }), context()),
      ErrorCode.InternalError,
      "failed to read http/request response body: error decoding response body",
    );
  } finally {
    await server.close();
  }
});

Deno.test("http/request rejects bad URL, scheme, method, headers and base64 with -32602", async () => {
  const handler = createHttpRequestHandler();
  const ctx = context();
  const bad = (p: Partial<HttpRequestParams>, message: string) =>
    rejectsWith(
      handler.handle(params({ url: "http://127.0.0.1:9/", ...p }), ctx),
      ErrorCode.InvalidParams,
      message,
    );
  await bad({ url: "not a url" }, "http/request url is invalid: relative URL without a base");
  await bad({ url: "http://" }, "http/request url is invalid: empty host");
  await bad({ url: "http://h:99999/" }, "http/request url is invalid: invalid port number");
  await bad({ url: "ftp://example.com/" }, "http/request only supports http and https URLs, got ftp");
  await bad({ url: "file:///etc/passwd" }, "http/request only supports http and https URLs, got file");
  await bad({ method: "GET POST" }, "http/request method is invalid: invalid HTTP method");
  await bad({ method: "" }, "http/request method is invalid: invalid HTTP method");
  await bad(
    { headers: [{ name: "bad name", value: "x" }] },
    "http/request header name is invalid: invalid HTTP header name",
  );
  await bad(
    { headers: [{ name: "X-Ok", value: "a\r\nInjected: 1" }] },
    "http/request header value is invalid for X-Ok: failed to parse header value",
  );
  await bad({ bodyBase64: "!!!!" }, "Invalid symbol 33, offset 0.");
  await bad({ bodyBase64: "AA AA" }, "Invalid symbol 32, offset 2.");
  await bad({ bodyBase64: "AAE" }, "Invalid padding");
});

Deno.test("http/request disabled on the server is refused with a clear error", async () => {
  await rejectsWith(
    createHttpRequestHandler({ disabled: true }).handle(params({ url: "http://127.0.0.1:9/" }), context()),
    ErrorCode.InvalidRequest,
    "http/request is disabled on this server",
  );
});

Deno.test("http/request refuses hosts outside the allow-list, also after a redirect", async () => {
  const server = startRawServer(async ({ request, write }) => {
    if (request.target === "/hop") {
      await write(head(302, [["Location", `http://localhost:${server.port}/`], ["Content-Length", 0]]));
    } else await write(head(200, [["Content-Length", 2]]) + "ok");
  });
  try {
    const port = server.port;
    const allowed = createHttpRequestHandler({ allowHosts: [`127.0.0.1:${port}`] });
    assert.equal((await allowed.handle(params({ url: server.url() }), context())).result.status, 200);
    // Other forms of the same address are normalised before matching.
    assert.equal(
      (await allowed.handle(params({ url: `http://127.1:${port}/` }), context())).result.status,
      200,
    );
    await rejectsWith(
      allowed.handle(params({ url: `http://127.0.0.1:${port + 1}/` }), context()),
      ErrorCode.InvalidRequest,
      `http/request host \`127.0.0.1:${port + 1}\` is not allowed on this server`,
    );
    await rejectsWith(
      allowed.handle(params({ url: server.url("/hop") }), context()),
      ErrorCode.InvalidRequest,
      `http/request host \`localhost:${port}\` is not allowed on this server`,
    );
    const anyPort = createHttpRequestHandler({ allowHosts: ["LOCALHOST.", "127.0.0.1"] });
    assert.equal((await anyPort.handle(params({ url: server.url("/hop") }), context())).result.status, 200);
    await rejectsWith(
      createHttpRequestHandler({ allowHosts: [] }).handle(params({ url: server.url() }), context()),
      ErrorCode.InvalidRequest,
      `http/request host \`127.0.0.1:${port}\` is not allowed on this server`,
    );
    assert.throws(() => createHttpRequestHandler({ allowHosts: ["http://x/y"] }), TypeError);
  } finally {
    await server.close();
  }
});
