/**
 * `--ws-auth signed-bearer-token`: HS256 JWTs checked before the upgrade, with Codex 0.171's rules and
 * 401 texts; the same requests are also sent to the real 0.171 server and the answers compared.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cacheRoot, codexBinary } from "./codex/fetch_codex.ts";
import { startReferenceServer } from "./codex/reference_server.ts";
import { WebSocketTransport } from "../src/rpc/websocket_transport.ts";
import { RpcPeer } from "./support/rpc_peer.ts";
import { SERVER_ARGV, startWebSocketServer } from "./support/servers.ts";
import { signJwt, unsignedJwt, type UpgradeAnswer, upgradeRequest } from "./support/ws_upgrade.ts";

const SECRET = "0123456789abcdef0123456789abcdef-jwt-test";
const ISSUER = "test-issuer";
const AUDIENCE = "test-audience";
const HS256 = { alg: "HS256", typ: "JWT" };

/** A temp dir with the secret file (padded with whitespace: the server trims it). */
async function withSecretFile<T>(fn: (path: string, dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "jwt-auth-" });
  try {
    const path = join(dir, "secret");
    await Deno.writeTextFile(path, `  ${SECRET}\n\n`);
    return await fn(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function jwtArgs(secretFile: string, extra: string[] = []): string[] {
  return ["--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", secretFile, ...extra];
}

interface Case {
  name: string;
  headers?: Record<string, string>;
  path?: string;
  expect: number | string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Requests for a server with `--ws-issuer ISSUER --ws-audience AUDIENCE` and the default skew. */
async function cases(): Promise<Case[]> {
  const now = Math.floor(Date.now() / 1000);
  const good = { exp: now + 300, iss: ISSUER, aud: AUDIENCE };
  const sign = (claims: unknown, header: unknown = HS256) => signJwt(SECRET, header, claims);
  const valid = await sign(good);
  const [validHeader, validPayload] = valid.split(".");
  const otherPayload = (await sign({ ...good, iss: "other" })).split(".")[1];
  return [
    { name: "valid token", headers: bearer(valid), expect: 101 },
    { name: "scheme in lower case", headers: { authorization: `bearer ${valid}` }, expect: 101 },
    {
      name: "aud array holding the audience",
      headers: bearer(await sign({ ...good, aud: ["x", AUDIENCE] })),
      expect: 101,
    },
    { name: "exp within the skew", headers: bearer(await sign({ ...good, exp: now - 10 })), expect: 101 },
    { name: "nbf within the skew", headers: bearer(await sign({ ...good, nbf: now + 10 })), expect: 101 },
    { name: "no authorization header", expect: "missing websocket bearer token" },
    { name: "token in the query", path: `/?token=${valid}`, expect: "missing websocket bearer token" },
    {
      name: "basic scheme",
      headers: { authorization: "Basic dXNlcjpwYXNz" },
      expect: "invalid authorization header",
    },
    {
      name: "bearer without token",
      headers: { authorization: "Bearer" },
      expect: "invalid authorization header",
    },
    {
      name: "tab after the scheme",
      headers: { authorization: `Bearer\t${valid}` },
      expect: "invalid authorization header",
    },
    {
      name: "expired",
      headers: bearer(await sign({ ...good, exp: now - 300 })),
      expect: "expired websocket jwt",
    },
    {
      name: "nbf in the future",
      headers: bearer(await sign({ ...good, nbf: now + 300 })),
      expect: "websocket jwt is not valid yet",
    },
    {
      name: "wrong issuer",
      headers: bearer(await sign({ ...good, iss: "other" })),
      expect: "websocket jwt issuer mismatch",
    },
    {
      name: "no issuer",
      headers: bearer(await sign({ exp: now + 300, aud: AUDIENCE })),
      expect: "websocket jwt issuer mismatch",
    },
    {
      name: "wrong audience",
      headers: bearer(await sign({ ...good, aud: "other" })),
      expect: "websocket jwt audience mismatch",
    },
    {
      name: "audience array without it",
      headers: bearer(await sign({ ...good, aud: ["x", "y"] })),
      expect: "websocket jwt audience mismatch",
    },
    {
      name: "expired and wrong issuer",
      headers: bearer(await sign({ ...good, exp: now - 300, iss: "x" })),
      expect: "expired websocket jwt",
    },
    {
      name: "signed with another secret",
      headers: bearer(await signJwt(`${SECRET}-other`, HS256, good)),
      expect: "invalid websocket jwt",
    },
    {
      name: "payload swapped after signing",
      headers: bearer(`${validHeader}.${otherPayload}.${valid.split(".")[2]}`),
      expect: "invalid websocket jwt",
    },
    { name: "alg none", headers: bearer(unsignedJwt(good)), expect: "invalid websocket jwt" },
    {
      name: "alg HS384",
      headers: bearer(await sign(good, { alg: "HS384", typ: "JWT" })),
      expect: "invalid websocket jwt",
    },
    { name: "not a jwt", headers: bearer("not-a-jwt"), expect: "invalid websocket jwt" },
    { name: "two parts", headers: bearer(`${validHeader}.${validPayload}`), expect: "invalid websocket jwt" },
    { name: "padded signature", headers: bearer(`${valid}=`), expect: "invalid websocket jwt" },
    {
      name: "no exp",
      headers: bearer(await sign({ iss: ISSUER, aud: AUDIENCE })),
      expect: "invalid websocket jwt",
    },
    {
      name: "exp as a string",
      headers: bearer(await sign({ ...good, exp: String(now + 300) })),
      expect: "invalid websocket jwt",
    },
    {
      name: "exp as 1e10",
      headers: bearer(await sign(`{"exp":1e10,"iss":"${ISSUER}","aud":"${AUDIENCE}"}`)),
      expect: "invalid websocket jwt",
    },
    {
      name: "exp given twice",
      headers: bearer(await sign(`{"exp":${now + 300},"exp":1,"iss":"${ISSUER}","aud":"${AUDIENCE}"}`)),
      expect: "invalid websocket jwt",
    },
    {
      name: "iss as a number",
      headers: bearer(await sign({ ...good, iss: 1 })),
      expect: "invalid websocket jwt",
    },
    {
      name: "kid as a number",
      headers: bearer(await sign(good, { alg: "HS256", kid: 5 })),
      expect: "invalid websocket jwt",
    },
    {
      name: "unknown header and claims",
      headers: bearer(await sign({ ...good, sub: 5, x: [1] }, { alg: "HS256", y: 1 })),
      expect: 101,
    },
  ];
}

async function answers(url: string, list: Case[]): Promise<UpgradeAnswer[]> {
  const out = [];
  for (const c of list) out.push(await upgradeRequest(url, c.headers, c.path));
  return out;
}

function assertAnswer(answer: UpgradeAnswer, c: Case): void {
  if (typeof c.expect === "number") {
    assert.equal(answer.status, c.expect, `${c.name}: ${JSON.stringify(answer)}`);
    return;
  }
  assert.deepEqual({ status: answer.status, body: answer.body }, { status: 401, body: c.expect }, c.name);
  assert.match(answer.contentType ?? "", /^text\/plain/, c.name);
}

/** Opens a WebSocket with headers; resolves with the peer, or rejects with the failure text. */
async function open(url: string, headers: Record<string, string> = {}): Promise<RpcPeer> {
  const socket = new WebSocket(url, { headers } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
  return new RpcPeer(new WebSocketTransport(socket, { description: "jwt test" }));
}

Deno.test("signed bearer token: each token gets the reference's status and 401 text; a valid one serves", async () => {
  await withSecretFile(async (secretFile) => {
    const server = await startWebSocketServer(
      jwtArgs(secretFile, ["--ws-issuer", ISSUER, "--ws-audience", AUDIENCE, "--log-level", "info"]),
    );
    try {
      const list = await cases();
      const got = await answers(server.url!, list);
      list.forEach((c, i) => assertAnswer(got[i], c));
      const now = Math.floor(Date.now() / 1000);
      const peer = await open(
        server.url!,
        bearer(await signJwt(SECRET, HS256, { exp: now + 60, iss: ISSUER, aud: AUDIENCE })),
      );
      assert.ok(await peer.handshake());
      assert.ok((await peer.call("environment/info")).shell);
      peer.close();
      // The health check needs no token, and a bad one does not matter to it.
      assert.equal((await fetch(server.url!.replace("ws:", "http:") + "/readyz")).status, 200);
      const readyz = await upgradeRequest(server.url!, bearer("garbage"), "/readyz");
      assert.equal(readyz.status, 200);
    } finally {
      await server.close();
    }
    assert.match(server.stderr(), /refused WebSocket connection .*: expired websocket jwt/);
    assert.ok(!server.stderr().includes("eyJ"), "a token leaked into the log");
  });
});

Deno.test("signed bearer token: --ws-max-clock-skew-seconds sets the leeway for exp and nbf", async () => {
  await withSecretFile(async (secretFile) => {
    const now = Math.floor(Date.now() / 1000);
    const expiredBy10 = bearer(await signJwt(SECRET, HS256, { exp: now - 10 }));
    const notYetBy10 = bearer(await signJwt(SECRET, HS256, { exp: now + 300, nbf: now + 10 }));
    const expiredBy90 = bearer(await signJwt(SECRET, HS256, { exp: now - 90 }));
    const expected: [string[], string[]][] = [
      [[], ["101", "101", "401 expired websocket jwt"]],
      [["--ws-max-clock-skew-seconds", "0"], [
        "401 expired websocket jwt",
        "401 websocket jwt is not valid yet",
        "401 expired websocket jwt",
      ]],
      [["--ws-max-clock-skew-seconds", "120"], ["101", "101", "101"]],
    ];
    for (const [flags, want] of expected) {
      const server = await startWebSocketServer(jwtArgs(secretFile, flags));
      try {
        const got = [];
        for (const headers of [expiredBy10, notYetBy10, expiredBy90]) {
          const answer = await upgradeRequest(server.url!, headers);
          got.push(answer.status === 101 ? "101" : `${answer.status} ${answer.body}`);
        }
        assert.deepEqual(got, want, flags.join(" ") || "default skew");
      } finally {
        await server.close();
      }
    }
  });
});

async function serveFails(args: string[], cwd?: string): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), "--listen", "ws://127.0.0.1:0", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    cwd,
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("signed bearer token: a short, missing or absent secret file and misplaced flags refuse to start", async () => {
  await withSecretFile(async (secretFile, dir) => {
    const short = join(dir, "short");
    // 31 bytes once trimmed, though the file itself is longer.
    await Deno.writeTextFile(short, `   ${"x".repeat(31)}   \n`);
    const checks: [string[], RegExp][] = [
      [jwtArgs(short), /signed websocket bearer secret .*short must be at least 32 bytes/],
      [jwtArgs(join(dir, "missing")), /failed to read websocket auth secret .*missing/],
      [["--ws-auth", "signed-bearer-token"], /needs --ws-shared-secret-file/],
      [["--ws-issuer", ISSUER], /need --ws-auth signed-bearer-token/],
      [
        ["--ws-auth", "capability-token", "--ws-shared-secret-file", secretFile],
        /need --ws-auth signed-bearer-token/,
      ],
      [
        [...jwtArgs(secretFile), "--ws-token-file", secretFile],
        /need --ws-auth capability-token, not signed-bearer-token/,
      ],
      [[...jwtArgs(secretFile), "--ws-max-clock-skew-seconds=-1"], /--ws-max-clock-skew-seconds expects/],
      [[...jwtArgs(secretFile), "--ws-max-clock-skew-seconds", "1.5"], /--ws-max-clock-skew-seconds expects/],
      [["--ws-auth", "jwt"], /--ws-auth expects capability-token, signed-bearer-token or none/],
    ];
    for (const [args, pattern] of checks) {
      const { code, stderr } = await serveFails(args);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr.split("\n")[0], pattern, args.join(" "));
      assert.match(stderr, /usage: exec-server/);
    }
  });
});

Deno.test("signed bearer token: a relative secret path is resolved against the working directory", async () => {
  await withSecretFile(async (_secretFile, dir) => {
    const child = new Deno.Command(SERVER_ARGV[0], {
      args: [...SERVER_ARGV.slice(1), "--listen", "ws://127.0.0.1:0", ...jwtArgs("secret")],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value } = await reader.read();
      const url = (value ?? "").trim();
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      const now = Math.floor(Date.now() / 1000);
      const answer = await upgradeRequest(url, bearer(await signJwt(SECRET, HS256, { exp: now + 60 })));
      assert.equal(answer.status, 101);
      reader.releaseLock();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  });
});

Deno.test("signed bearer token counts as authentication for a non-loopback address (no warning)", async () => {
  await withSecretFile(async (secretFile) => {
    const server = await startWebSocketServer(jwtArgs(secretFile), undefined, "ws://0.0.0.0:0");
    try {
      assert.match(server.url!, /^ws:\/\/0\.0\.0\.0:\d+$/);
      const local = server.url!.replace("0.0.0.0", "127.0.0.1");
      assert.equal((await upgradeRequest(local)).body, "missing websocket bearer token");
    } finally {
      await server.close();
    }
    assert.ok(!server.stderr().includes("WITHOUT AUTHENTICATION"));
  });
});

/** The real Codex 0.171 binary, or null when it cannot be fetched outside CI. */
async function referenceCodex(): Promise<string | null> {
  try {
    return await codexBinary("0.171.0");
  } catch (error) {
    if (Deno.env.get("CI") === "true") throw error;
    console.warn(`skipping the comparison with Codex 0.171: ${error}`);
    return null;
  }
}

Deno.test("signed bearer and capability tokens: the real Codex 0.171 server and ours answer alike", async () => {
  const codex = await referenceCodex();
  if (codex === null) return;
  await withSecretFile(async (secretFile, dir) => {
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, "capability-s3cret\n");
    const capability: Case[] = [
      { name: "capability: right token", headers: bearer("capability-s3cret"), expect: 101 },
      { name: "capability: none", expect: "missing websocket bearer token" },
      { name: "capability: wrong", headers: bearer("nope"), expect: "invalid websocket bearer token" },
      {
        name: "capability: basic",
        headers: { authorization: "Basic x" },
        expect: "invalid authorization header",
      },
      {
        name: "capability: in the query",
        path: "/?token=capability-s3cret",
        expect: "missing websocket bearer token",
      },
    ];
    const setups: [string[], Case[]][] = [
      [jwtArgs(secretFile, ["--ws-issuer", ISSUER, "--ws-audience", AUDIENCE]), await cases()],
      [["--ws-auth", "capability-token", "--ws-token-file", tokenFile], capability],
    ];
    const root = cacheRoot();
    await Deno.mkdir(root, { recursive: true });
    for (const [args, list] of setups) {
      // Outside the system temp dir: the reference's sandbox helper refuses to start under it.
      const codexHome = await Deno.makeTempDir({ dir: root, prefix: "ref-home-" });
      const reference = await startReferenceServer({ codex, args, codexHome });
      const ours = await startWebSocketServer(args);
      try {
        const theirs = await answers(reference.url, list);
        const mine = await answers(ours.url!, list);
        list.forEach((c, i) => {
          const strip = (a: UpgradeAnswer) => ({ status: a.status, body: a.body });
          assert.deepEqual(strip(mine[i]), strip(theirs[i]), `${c.name}: ours differs from the reference`);
          assertAnswer(theirs[i], c);
        });
      } finally {
        await reference.close();
        await ours.close();
        await Deno.remove(codexHome, { recursive: true }).catch(() => {});
      }
    }
  });
});
