import assert from "node:assert/strict";
import { join } from "node:path";
import { ExecServer } from "../src/server/exec_server.ts";
import { listenWebSocket } from "../src/server/websocket_listener.ts";
import { sha256, timingSafeEqual } from "../src/server/ws_auth.ts";
import { WebSocketTransport } from "../src/rpc/websocket_transport.ts";
import { RpcPeer } from "./support/rpc_peer.ts";
import { SERVER_ARGV, startWebSocketServer, withTokenServer } from "./support/servers.ts";
import { upgradeRequest } from "./support/ws_upgrade.ts";

/** Opens a WebSocket with extra headers; resolves with the peer, or rejects with the failure text. */
async function open(
  url: string,
  headers: Record<string, string> = {},
  client?: Deno.HttpClient,
): Promise<RpcPeer> {
  // Deno's WebSocket accepts headers (and an HTTP client for custom CAs) in its options.
  const socket = new WebSocket(url, { headers, client } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
  return new RpcPeer(new WebSocketTransport(socket, { description: "auth test" }));
}

Deno.test("capability token: no token and a wrong token get 401 before the upgrade; the right one connects", async () => {
  await withTokenServer("s3cret-token", async (url) => {
    await assert.rejects(open(url), /401/);
    await assert.rejects(open(url, { authorization: "Bearer wrong" }), /401/);
    await assert.rejects(open(url, { authorization: "Basic czNjcmV0LXRva2Vu" }), /401/);
    const peer = await open(url, { authorization: "Bearer s3cret-token" });
    assert.ok(await peer.handshake());
    peer.close();
    // The reference's texts, as text/plain.
    const refusals: [Record<string, string>, string, string?][] = [
      [{}, "missing websocket bearer token"],
      [{}, "missing websocket bearer token", "/?token=s3cret-token"],
      [{ authorization: "Bearer wrong" }, "invalid websocket bearer token"],
      [{ authorization: "Bearer s3cret-token extra" }, "invalid websocket bearer token"],
      [{ authorization: "Basic czNjcmV0LXRva2Vu" }, "invalid authorization header"],
      [{ authorization: "Bearer" }, "invalid authorization header"],
    ];
    for (const [headers, body, path] of refusals) {
      const answer = await upgradeRequest(url, headers, path);
      assert.deepEqual({ status: answer.status, body: answer.body }, { status: 401, body });
      assert.match(answer.contentType ?? "", /^text\/plain/);
    }
    assert.equal((await upgradeRequest(url, { authorization: "BEARER  s3cret-token" })).status, 101);
    // The health check needs no token.
    assert.equal((await fetch(url.replace("ws:", "http:") + "/readyz")).status, 200);
  });
});

Deno.test("timingSafeEqual compares whole digests regardless of where they differ", async () => {
  const a = await sha256("token-a");
  assert.equal(timingSafeEqual(a, await sha256("token-a")), true);
  assert.equal(timingSafeEqual(a, await sha256("token-b")), false);
  assert.equal(timingSafeEqual(a, a.subarray(0, 31)), false);
  assert.equal(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  const flippedLast = a.slice();
  flippedLast[31] ^= 1;
  assert.equal(timingSafeEqual(a, flippedLast), false);
});

Deno.test("serve --ws-token-file and --ws-token-sha256 accept the same token; the log never shows it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const token = "file-token-" + crypto.randomUUID();
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, token + "\n");
    const hex = (await sha256(token)).toHex();
    for (const flags of [["--ws-token-file", tokenFile], ["--ws-token-sha256", hex]]) {
      const server = await startWebSocketServer([
        "--ws-auth",
        "capability-token",
        ...flags,
        "--log-level",
        "info",
      ]);
      try {
        await assert.rejects(open(server.url!, { authorization: "Bearer nope" }), /401/);
        const peer = await open(server.url!, { authorization: `Bearer ${token}` });
        assert.ok(await peer.handshake());
        peer.close();
      } finally {
        await server.close();
      }
      assert.ok(!server.stderr().includes(token), "the token leaked into the log");
      assert.match(server.stderr(), /refused WebSocket connection/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function runServe(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("serve refuses a non-loopback address without auth, and bad auth flags, with exit 2", async () => {
  const refused = await runServe(["--listen", "ws://0.0.0.0:0"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0 without authentication/);
  const noToken = await runServe(["--ws-auth", "capability-token"]);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /needs exactly one of --ws-token-file or --ws-token-sha256/);
  const badHex = await runServe(["--ws-auth", "capability-token", "--ws-token-sha256", "xyz"]);
  assert.equal(badHex.code, 2);
  assert.match(badHex.stderr, /64 hexadecimal characters/);
});

Deno.test("serve --allow-unauthenticated on a non-loopback address starts with one loud warning", async () => {
  const server = await startWebSocketServer(["--allow-unauthenticated"], undefined, "ws://0.0.0.0:0");
  try {
    assert.match(server.url!, /^ws:\/\/0\.0\.0\.0:\d+$/);
    const warnings = server.stderr().split("\n").filter((l) => l.includes("WITHOUT AUTHENTICATION"));
    assert.equal(warnings.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a browser Origin is refused with 403 unless allowed", async () => {
  const server = new ExecServer({ allowedOrigins: ["https://trusted.example"] });
  const listener = await listenWebSocket(server, { hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(open(listener.url, { origin: "https://evil.example" }), /403/);
    const peer = await open(listener.url, { origin: "https://trusted.example" });
    assert.ok(await peer.handshake());
    peer.close();
  } finally {
    await server.shutdown();
    await listener.close();
  }
});

/** Runs openssl, failing the test with its stderr on error. */
async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("wss:// round trip with a throwaway CA and server certificate made by openssl", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // rustls refuses a self-signed CA as the server's own certificate, so make a CA and a leaf it signs.
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=exec-server test CA",
    ], dir);
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ], dir);
    await Deno.writeTextFile(
      join(dir, "ext.cnf"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    ], dir);
    const server = await startWebSocketServer([
      "--tls-cert",
      join(dir, "server.pem"),
      "--tls-key",
      join(dir, "server.key"),
    ]);
    try {
      assert.match(server.url!, /^wss:\/\/127\.0\.0\.1:\d+$/);
      // Without the CA the handshake fails; with it, the round trip works.
      await assert.rejects(open(server.url!), /certificate|UnknownIssuer|invalid peer/i);
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(join(dir, "ca.pem"))] });
      try {
        const peer = await open(server.url!, {}, client);
        assert.ok(await peer.handshake());
        assert.ok((await peer.call("environment/info")).shell);
        peer.close();
      } finally {
        client.close();
      }
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
