/**
 * Serve flags new in Codex 0.171 besides authentication: `--concurrent-requests N` (at most N requests
 * of one connection run at once, the rest wait in arrival order) and `--exit-on-stdin-close` (or
 * `CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE=true`: the server exits 0 when its stdin reaches EOF).
 */
import assert from "node:assert/strict";
import { cacheRoot, codexBinary } from "./codex/fetch_codex.ts";
import { connectWebSocket, SERVER_ARGV, startStdioServer } from "./support/servers.ts";
import type { RpcPeer } from "./support/rpc_peer.ts";
import { withTimeout } from "./support/waiting.ts";

async function serve(
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env,
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("--concurrent-requests refuses 0, negative, fractional and non-numeric counts with exit 2", async () => {
  for (
    const arg of [
      "--concurrent-requests=0",
      "--concurrent-requests=-1",
      "--concurrent-requests=1.5",
      "--concurrent-requests=many",
    ]
  ) {
    const { code, stderr } = await serve(["--listen", "stdio", arg]);
    assert.equal(code, 2, `${arg}: ${stderr}`);
    assert.match(stderr, /--concurrent-requests expects a positive integer/, arg);
  }
});

/**
 * Sends a 1000 ms long-poll, a 100 ms long-poll and `environment/info` on one connection (a process
 * without output, so each poll lasts its `waitMs`) and returns the order the answers came in.
 */
async function answerOrder(peer: RpcPeer): Promise<string[]> {
  await peer.handshake();
  await peer.call("process/start", {
    processId: "quiet",
    argv: ["sleep", "30"],
    cwd: "/tmp",
    env: { PATH: "/usr/bin:/bin" },
    tty: false,
  });
  const order: string[] = [];
  const track = (name: string, reply: Promise<unknown>) => reply.then(() => order.push(name));
  await Promise.all([
    track("read 1000 ms", peer.request("process/read", { processId: "quiet", afterSeq: 0, waitMs: 1000 })),
    track("read 100 ms", peer.request("process/read", { processId: "quiet", afterSeq: 0, waitMs: 100 })),
    track("environment/info", peer.request("environment/info", null)),
  ]);
  await peer.call("process/terminate", { processId: "quiet" });
  return order;
}

Deno.test("--concurrent-requests N runs at most N requests of a connection at once, the rest in arrival order", async () => {
  const expected: [string[], string[]][] = [
    // No limit (the default): nothing waits behind a long-poll.
    [[], ["environment/info", "read 100 ms", "read 1000 ms"]],
    // One at a time, as Codex 0.171's default: each request waits for the one before it.
    [["--concurrent-requests", "1"], ["read 1000 ms", "read 100 ms", "environment/info"]],
    // Two slots: environment/info starts once the short poll has freed one.
    [["--concurrent-requests", "2"], ["read 100 ms", "environment/info", "read 1000 ms"]],
  ];
  for (const [args, order] of expected) {
    const server = startStdioServer(args);
    try {
      assert.deepEqual(await answerOrder(server.peer!), order, args.join(" ") || "no limit");
    } finally {
      await server.close();
    }
  }
});

/** Starts a WebSocket server with piped stdin; returns it with its URL. */
async function startWithStdin(args: string[], env?: Record<string, string>) {
  const child = new Deno.Command(SERVER_ARGV[0], {
    args: [...SERVER_ARGV.slice(1), "--listen", "ws://127.0.0.1:0", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env,
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // Bounded: the URL line comes in a few reads at most.
  for (let reads = 0; reads < 100 && !text.includes("\n"); reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return { child, url: text.trim() };
}

Deno.test("--exit-on-stdin-close (or its env var set to true) makes a WebSocket server exit 0 at stdin EOF", async () => {
  const setups: [string[], Record<string, string> | undefined][] = [
    [["--exit-on-stdin-close"], undefined],
    [[], { CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE: "true" }],
  ];
  for (const [args, env] of setups) {
    const { child, url } = await startWithStdin(args, env);
    const peer = await connectWebSocket(url);
    try {
      await peer.handshake();
      const stdin = child.stdin.getWriter();
      await stdin.write(new TextEncoder().encode("data on stdin is ignored\n"));
      await stdin.close();
      const status = await withTimeout(child.status, 15_000, "the server's exit after stdin EOF");
      assert.equal(status.code, 0, JSON.stringify({ args, env }));
      await withTimeout(peer.closed, 5_000, "the connection's close");
    } finally {
      peer.close();
      await child.stdout.cancel().catch(() => {});
    }
  }
});

Deno.test("without --exit-on-stdin-close (or with the env var false) stdin EOF does not stop a WebSocket server", async () => {
  for (const env of [undefined, { CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE: "false" }]) {
    const { child, url } = await startWithStdin([], env);
    try {
      await child.stdin.close();
      // A connection made after the EOF is served.
      const peer = await connectWebSocket(url);
      assert.ok(await peer.handshake());
      assert.ok((await peer.call("environment/info", null)).shell);
      peer.close();
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
      await child.stdout.cancel().catch(() => {});
    }
  }
});

Deno.test("CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE other than true or false is a usage error", async () => {
  for (const value of ["1", "yes", ""]) {
    const { code, stderr } = await serve(["--listen", "stdio"], {
      CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE: value,
    });
    assert.equal(code, 2, `${JSON.stringify(value)}: ${stderr}`);
    assert.match(stderr, /CODEX_EXEC_SERVER_EXIT_ON_STDIN_CLOSE expects true or false/);
  }
});

Deno.test("a bad --listen exits 1 with the reference's message", async () => {
  const codex = await codexBinary("0.171.0");
  await Deno.mkdir(cacheRoot(), { recursive: true });
  const home = await Deno.makeTempDir({ dir: cacheRoot(), prefix: "listen-home-" });
  try {
    for (
      const listen of [
        "bogus",
        "http://127.0.0.1:1",
        "ws://localhost:1",
        "ws://127.0.0.1",
        "ws://127.0.0.1:1/x",
      ]
    ) {
      const reference = await new Deno.Command(codex, {
        args: ["exec-server", "--listen", listen],
        env: { CODEX_HOME: home },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      const referenceLine = new TextDecoder().decode(reference.stderr).split("\n")[0].replace(/^Error: /, "");
      const ours = await serve(["--listen", listen]);
      assert.equal(ours.code, reference.code, listen);
      assert.equal(ours.code, 1, listen);
      assert.equal(ours.stderr.trim(), `exec-server: ${referenceLine}`, listen);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
