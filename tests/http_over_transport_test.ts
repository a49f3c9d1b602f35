import assert from "node:assert/strict";
import { TRANSPORTS, withPeer } from "./support/servers.ts";

/** A loopback HTTP server whose /slow body trickles out until `release()` is called. */
function startSlowServer() {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    if (new URL(request.url).pathname !== "/slow") return new Response("fast");
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("first;"));
        await release.promise;
        controller.enqueue(new TextEncoder().encode("last"));
        controller.close();
      },
    });
    return new Response(body);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    release: () => release.resolve(),
    close: () => server.shutdown(),
  };
}

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] environment/info is answered while an http/request body is still streaming`, async () => {
    const upstream = startSlowServer();
    try {
      await withPeer(transport, async (peer) => {
        const head = await peer.call("http/request", {
          method: "GET",
          url: `${upstream.url}/slow`,
          requestId: "slow-1",
          streamResponse: true,
        });
        assert.equal(head.status, 200);
        assert.equal(head.bodyBase64, "");
        const deltas = () => peer.notifications.filter((n) => n.method === "http/request/bodyDelta");
        await peer.until(() => deltas().length >= 1, "the first body frame");
        // The stream is open and blocked upstream: quick requests must not wait behind it.
        assert.ok((await peer.call("environment/info")).shell);
        assert.equal(deltas().some((d) => d.params.done), false, "the body must still be open");
        upstream.release();
        await peer.until(() => deltas().some((d) => d.params.done), "the final frame");
        const frames = deltas().map((d) => d.params);
        assert.deepEqual(frames.map((f) => f.seq), frames.map((_, i) => i + 1));
        assert.equal(frames.map((f) => atob(f.deltaBase64)).join(""), "first;last");
        assert.equal(frames.at(-1).error, null);
      });
    } finally {
      await upstream.close();
    }
  });
}

Deno.test("serve --disable-http and --http-allow-host refuse http/request with a clear error", async () => {
  const upstream = startSlowServer();
  try {
    await withPeer("stdio", async (peer) => {
      const reply = await peer.request("http/request", { method: "GET", url: upstream.url, requestId: "d" });
      assert.equal(reply.error?.code, -32600);
      assert.match(reply.error!.message, /http\/request is disabled on this server/);
    }, { serverArgs: ["--disable-http"] });
    await withPeer("stdio", async (peer) => {
      const refused = await peer.request("http/request", {
        method: "GET",
        url: upstream.url,
        requestId: "a",
      });
      assert.equal(refused.error?.code, -32600);
      assert.match(refused.error!.message, /host `127\.0\.0\.1:\d+` is not allowed on this server/);
      const allowed = await peer.call("http/request", {
        method: "GET",
        url: upstream.url.replace("127.0.0.1", "localhost"),
        requestId: "b",
      });
      assert.equal(atob(allowed.bodyBase64), "fast");
    }, { serverArgs: ["--http-allow-host", "localhost"] });
  } finally {
    upstream.release();
    await upstream.close();
  }
});
