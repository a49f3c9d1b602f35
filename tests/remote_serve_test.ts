/**
 * `exec-server serve --remote` end to end on loopback: our executor registers with the development relay
 * (tests/support/dev_relay.ts) and harness streams reach it through the relay (our Noise initiator).
 */
import assert from "node:assert/strict";
import { DevRelay } from "./support/dev_relay.ts";
import { connectRelayHarness } from "../src/remote/relay_harness.ts";
import { b64text, outputText, RpcPeer } from "./support/rpc_peer.ts";
import { bashStart } from "./support/process_start.ts";
import { SERVER_ARGV, startWebSocketServer } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";
import { handshakeFrame, resumeFrame } from "../src/remote/relay_frame.ts";
import { WebSocketTransport } from "../src/rpc/websocket_transport.ts";
import { runCli } from "./client_test_util.ts";
import { parseServeArgs } from "../src/cli/serve_command.ts";
import { UsageError } from "../src/cli/usage_error.ts";
import { backoffDelay } from "../src/remote/remote_executor.ts";
import { EnvironmentManager } from "../src/client/environment_manager.ts";

const ENV = "env-test_1";

interface Executor {
  child: Deno.ChildProcess;
  stderr: Promise<string>;
  stop(): Promise<Deno.CommandStatus>;
}

function startExecutor(
  relay: DevRelay,
  extra: string[] = [],
  env: Record<string, string> = {},
  stdin = "",
): Executor {
  const [program, ...args] = SERVER_ARGV;
  const child = new Deno.Command(program, {
    args: [...args, "serve", "--remote", relay.url, "--environment-id", ENV, ...extra],
    env: { CODEX_API_KEY: relay.executorToken, EXEC_SERVER_REMOTE_BACKOFF_MS: "50", ...env },
    stdin: stdin === "" ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== "") {
    const writer = child.stdin.getWriter();
    writer.write(new TextEncoder().encode(stdin)).then(() => writer.close()).catch(() => {});
  }
  const stderr = new Response(child.stderr).text();
  return {
    child,
    stderr,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      return await withTimeout(child.status, 15_000, "executor exit");
    },
  };
}

async function harness(relay: DevRelay): Promise<RpcPeer> {
  const transport = await connectRelayHarness({
    registryUrl: relay.url,
    environmentId: ENV,
    authToken: relay.harnessToken,
  });
  return new RpcPeer(transport);
}

async function withRelayExecutor(
  fn: (relay: DevRelay, executor: Executor) => Promise<void>,
  extra: string[] = [],
  registered: (relay: DevRelay) => boolean = (relay) => relay.executorSockets(ENV) === 1,
) {
  const relay = await DevRelay.start();
  const executor = startExecutor(relay, extra);
  try {
    await relay.waitFor(() => registered(relay), "the executor's registration");
    await fn(relay, executor);
  } finally {
    await executor.stop();
    await executor.stderr;
    await relay.close();
  }
}

Deno.test("serve --remote registers its Noise key and a harness stream through the relay runs a command", async () => {
  await withRelayExecutor(async (relay) => {
    const [register] = relay.callsTo("/register");
    assert.equal(register.headers.authorization, `Bearer ${relay.executorToken}`);
    const body = register.body as Record<string, Record<string, string>>;
    assert.equal(body.security_profile as unknown, "noise_hybrid_ik_v1");
    assert.deepEqual(Object.keys(body.executor_public_key), [
      "suite",
      "x25519_public_key",
      "mlkem768_public_key",
    ]);
    const peer = await harness(relay);
    const [validate] = relay.callsTo("/validate");
    assert.equal(validate.headers["x-codex-noise-stream-id"], relay.frames[0].streamId);
    await peer.handshake();
    const info = await peer.call("environment/info", {});
    assert.equal(info.cwd, new URL(`file://${Deno.cwd()}`).href);
    await peer.call("process/start", bashStart("hello", "echo hello-through-relay"));
    assert.equal(outputText(await peer.waitClosed("hello", 10_000)), "hello-through-relay\n");
    // The relay only ever saw Noise records.
    assert.ok(relay.frames.some((f) => f.kind === "data" && f.from === "executor"));
    peer.transport.close();
  });
});

Deno.test("serve --remote: two harness streams at once on one executor socket get independent sessions", async () => {
  await withRelayExecutor(async (relay) => {
    const [a, b] = await Promise.all([harness(relay), harness(relay)]);
    const [sa, sb] = await Promise.all([a.handshake(), b.handshake()]);
    assert.notEqual(sa, sb);
    await Promise.all([
      a.call("process/start", bashStart("p", "echo from-a")),
      b.call("process/start", bashStart("p", "echo from-b")),
    ]);
    assert.equal(outputText(await a.waitClosed("p", 10_000)), "from-a\n");
    assert.equal(outputText(await b.waitClosed("p", 10_000)), "from-b\n");
    assert.equal(relay.executorSockets(ENV), 1);
    a.transport.close();
    b.transport.close();
  });
});

Deno.test("serve --remote: after a relay drop it reconnects and a new stream resumes the old session", async () => {
  await withRelayExecutor(async (relay) => {
    const first = await harness(relay);
    const sessionId = await first.handshake();
    await first.call("process/start", bashStart("keeper", "echo kept; sleep 1000"));
    await first.until(() => outputText(first.processEvents("keeper")).includes("kept"), "the first output");
    const upgrades = relay.executorUpgrades;
    relay.dropExecutors();
    await withTimeout(first.closed, 10_000, "the harness stream to end with the relay socket");
    await relay.waitFor(
      () => relay.executorUpgrades > upgrades && relay.executorSockets(ENV) === 1,
      "reconnect",
    );
    const second = await harness(relay);
    assert.equal(await second.handshake(sessionId), sessionId);
    const read = await second.call("process/read", { processId: "keeper", afterSeq: 0, waitMs: 0 });
    assert.equal(read.exited, false);
    // The output retained while no stream was attached is all there.
    assert.equal(read.chunks.map((c: { chunk: string }) => b64text(c.chunk)).join(""), "kept\n");
    await second.call("process/terminate", { processId: "keeper" });
    second.transport.close();
  });
});

Deno.test("serve --remote: a 4xx refusal of the rendezvous upgrade registers again before reconnecting", async () => {
  await withRelayExecutor(async (relay) => {
    relay.refuseExecutorUpgrades = 2;
    relay.dropExecutors();
    await relay.waitFor(
      () => relay.callsTo("/register").length >= 3 && relay.executorSockets(ENV) === 1,
      "two re-registrations and a working socket",
    );
    const peer = await harness(relay);
    await peer.handshake();
    peer.transport.close();
  });
});

Deno.test("serve --remote: a garbage or tampered handshake gets Reset and the socket keeps serving", async () => {
  await withRelayExecutor(async (relay) => {
    // Garbage straight onto the harness rendezvous socket.
    const socket = new WebSocket(`${relay.url.replace("http", "ws")}/rendezvous/harness/${ENV}`);
    await new Promise((resolve) => socket.onopen = resolve);
    socket.send(resumeFrame("garbage-stream"));
    socket.send(handshakeFrame("garbage-stream", new Uint8Array(3600).fill(7)));
    await relay.waitFor(
      () => relay.frames.some((f) => f.streamId === "garbage-stream" && f.kind === "reset"),
      "a Reset for the garbage handshake",
    );
    const reset = relay.frames.find((f) => f.streamId === "garbage-stream" && f.kind === "reset")!;
    assert.equal(reset.reason, "noise_relay_protocol_error");
    socket.close();
    // A real handshake with one flipped byte in message 1.
    relay.tamperHarnessFrame = (frame) => {
      if (frame.length < 3000) return frame;
      const copy = frame.slice();
      copy[copy.length - 40] ^= 1;
      return copy;
    };
    await assert.rejects(harness(relay), /reset the stream during the handshake: noise_relay_protocol_error/);
    assert.equal(relay.callsTo("/validate").length, 0);
    relay.tamperHarnessFrame = null;
    const peer = await harness(relay);
    await peer.handshake();
    peer.transport.close();
  });
});

Deno.test("serve --remote: a 401 on the first registration ends the executor with the authentication error", async () => {
  const relay = await DevRelay.start();
  try {
    const executor = startExecutor(relay, [], { CODEX_API_KEY: "wrong-token" });
    const status = await withTimeout(executor.child.status, 30_000, "executor exit");
    assert.equal(status.code, 1);
    assert.match(
      await executor.stderr,
      /environment registry authentication error: environment registry authentication failed \(401 Unauthorized\): \{"error":"unauthorized"\}/,
    );
  } finally {
    await relay.close();
  }
});

Deno.test("serve --remote --registration-bearer-stdin reads the bearer line; a missing newline is refused", async () => {
  const relay = await DevRelay.start();
  try {
    const bad = startExecutor(relay, ["--registration-bearer-stdin"], { CODEX_API_KEY: "" }, "no-newline");
    assert.equal((await withTimeout(bad.child.status, 30_000, "exit")).code, 1);
    assert.match(await bad.stderr, /expected a newline-terminated registration bearer of at most 16 KiB/);
    const good = startExecutor(
      relay,
      ["--registration-bearer-stdin"],
      { CODEX_API_KEY: "" },
      `${relay.executorToken}\n`,
    );
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "registration with the stdin bearer");
    await good.stop();
    await good.stderr;
  } finally {
    await relay.close();
  }
});

Deno.test("serve --remote --remote-transport direct: plain JSON-RPC on a bearer-authenticated socket, one per session", async () => {
  await withRelayExecutor(
    async (relay) => {
      assert.deepEqual(relay.callsTo("/direct/register")[0].body, { transport: "direct_jsonrpc_v1" });
      const url = `${relay.url.replace("http", "ws")}/rendezvous/direct-harness/${ENV}`;
      const open = async () => {
        await relay.waitFor(() => relay.idleDirectSockets(ENV) === 1, "an idle direct socket");
        const socket = new WebSocket(url);
        await withTimeout(
          new Promise((resolve) => socket.onopen = resolve),
          10_000,
          "the direct harness socket",
        );
        return new RpcPeer(new WebSocketTransport(socket, { description: "direct harness" }));
      };
      const a = await open();
      const sa = await a.handshake();
      // The executor opened the next idle socket for the next harness; both sessions work at once.
      const b = await open();
      const sb = await b.handshake();
      assert.notEqual(sa, sb);
      await a.call("process/start", bashStart("p", "echo direct-a"));
      assert.equal(outputText(await a.waitClosed("p", 10_000)), "direct-a\n");
      a.transport.close();
      b.transport.close();
    },
    ["--remote-transport", "direct"],
    (relay) => relay.callsTo("/direct/register").length === 1,
  );
});

Deno.test("serve --remote: a tampered Data record resets only its stream; another stream keeps working", async () => {
  await withRelayExecutor(async (relay) => {
    const victim = await harness(relay);
    const bystander = await harness(relay);
    await victim.handshake();
    await bystander.handshake();
    const victimStream = relay.frames.find((f) => f.from === "harness" && f.kind === "resume")!.streamId;
    relay.tamperHarnessFrame = (frame) => {
      const decoded = new TextDecoder().decode(frame);
      if (!decoded.includes(victimStream) || frame.length < 40) return frame;
      const copy = frame.slice();
      copy[copy.length - 1] ^= 0x80; // inside the AES-GCM tag
      return copy;
    };
    victim.notify("process/read", { processId: "none", waitMs: 0 });
    await relay.waitFor(
      () =>
        relay.frames.some((f) => f.from === "executor" && f.streamId === victimStream && f.kind === "reset"),
      "a Reset for the tampered stream",
    );
    await withTimeout(victim.closed, 10_000, "the tampered stream to end");
    relay.tamperHarnessFrame = null;
    const info = await bystander.call("environment/info", {});
    assert.ok(info.shell);
    bystander.transport.close();
  });
});

Deno.test("serve --remote: 8 failed handshakes close the rendezvous socket, and the executor reconnects", async () => {
  await withRelayExecutor(async (relay) => {
    const socket = new WebSocket(`${relay.url.replace("http", "ws")}/rendezvous/harness/${ENV}`);
    await withTimeout(new Promise((resolve) => socket.onopen = resolve), 10_000, "harness socket");
    const upgrades = relay.executorUpgrades;
    for (let i = 0; i < 8; i++) socket.send(handshakeFrame(`bad-${i}`, new Uint8Array(100).fill(i + 1)));
    await relay.waitFor(
      () => relay.executorUpgrades > upgrades && relay.executorSockets(ENV) === 1,
      "a new socket",
    );
    assert.equal(relay.frames.filter((f) => f.kind === "reset" && f.streamId.startsWith("bad-")).length, 8);
    socket.close();
    const peer = await harness(relay);
    await peer.handshake();
    peer.transport.close();
  });
});

Deno.test("exec-server run with the CODEX_EXEC_SERVER_NOISE_* variables runs a command through the relay", async () => {
  await withRelayExecutor(async (relay) => {
    const emptyHome = await Deno.makeTempDir({ prefix: "remote-client-home-" });
    try {
      const result = await runCli([
        "run",
        "--cwd",
        "/tmp",
        "--",
        "sh",
        "-c",
        "echo client-via-registry; exit 3",
      ], {
        env: {
          CODEX_HOME: emptyHome,
          CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
          CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
          CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
        },
      });
      assert.equal(result.stdout, "client-via-registry\n", result.stderr);
      assert.equal(result.code, 3);
      assert.equal(relay.callsTo("/connect").length, 1);
    } finally {
      await Deno.remove(emptyHome, { recursive: true });
    }
  });
});

Deno.test("exec-server forward: each harness stream becomes its own connection to the --connect exec-server", async () => {
  const backend = await startWebSocketServer();
  const relay = await DevRelay.start();
  const forward = new Deno.Command(SERVER_ARGV[0], {
    args: [
      ...SERVER_ARGV.slice(1),
      "forward",
      "--remote",
      relay.url,
      "--environment-id",
      ENV,
      "--connect",
      backend.url!,
    ],
    env: { CODEX_API_KEY: relay.executorToken },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(forward.stderr).text();
  try {
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "the forwarder's rendezvous socket");
    const a = await harness(relay);
    const sessionId = await a.handshake();
    await a.call("process/start", bashStart("kept", "echo forwarded; sleep 1000"));
    await a.until(
      () => outputText(a.processEvents("kept")).includes("forwarded"),
      "output through the forwarder",
    );
    a.transport.close();
    // A new stream resumes the backend session: the session lives in the backend, not in the stream.
    const b = await harness(relay);
    assert.equal(await b.handshake(sessionId), sessionId);
    assert.equal((await b.call("process/read", { processId: "kept", waitMs: 0 })).exited, false);
    await b.call("process/terminate", { processId: "kept" });
    b.transport.close();
  } finally {
    forward.kill("SIGTERM");
    await withTimeout(forward.status, 15_000, "forward exit");
    await stderr;
    await relay.close();
    await backend.close();
  }
});

Deno.test("serve --remote --exit-on-stdin-close exits 0 when its stdin closes", async () => {
  const relay = await DevRelay.start();
  try {
    const [program, ...args] = SERVER_ARGV;
    const child = new Deno.Command(program, {
      args: [...args, "serve", "--remote", relay.url, "--environment-id", ENV, "--exit-on-stdin-close"],
      env: { CODEX_API_KEY: relay.executorToken },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "registration");
    await child.stdin.close();
    assert.equal((await withTimeout(child.status, 15_000, "exit after stdin closed")).code, 0);
    await relay.waitFor(() => relay.executorSockets(ENV) === 0, "the rendezvous socket closed");
    // SIGTERM while stdin is still open ends it cleanly too.
    const again = new Deno.Command(program, {
      args: [...args, "serve", "--remote", relay.url, "--environment-id", ENV, "--exit-on-stdin-close"],
      env: { CODEX_API_KEY: relay.executorToken },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "registration");
    again.kill("SIGTERM");
    assert.equal((await withTimeout(again.status, 15_000, "exit after SIGTERM")).code, 0);
    await again.stdin.close().catch(() => {});
  } finally {
    await relay.close();
  }
});

Deno.test("serve --remote flags: the companions are checked with Codex's texts where it has them", () => {
  const usage = (args: string[]) => {
    try {
      parseServeArgs(args);
      return "ok";
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return error.message;
    }
  };
  assert.equal(usage(["--remote", "http://127.0.0.1:1"]), "--remote needs --environment-id <ID>");
  assert.equal(
    usage(["--remote", "http://127.0.0.1:1", "--environment-id", "e", "--listen", "stdio"]),
    "the argument '--remote <URL>' cannot be used with '--listen <URL>'",
  );
  assert.match(
    usage(["--remote", "http://127.0.0.1:1", "--environment-id", "bad id"]),
    /invalid --environment-id/,
  );
  assert.match(
    usage(["--remote", "http://127.0.0.1:1", "--environment-id", "x".repeat(257)]),
    /invalid --environment-id/,
  );
  assert.match(usage(["--remote", "ws://127.0.0.1:1", "--environment-id", "e"]), /http:\/\/ or https:\/\//);
  assert.match(
    usage(["--remote", "http://h", "--environment-id", "e", "--remote-transport", "x"]),
    /noise or direct/,
  );
  assert.equal(
    usage(["--remote", "http://h", "--environment-id", "e", "--aws-sigv4"]),
    "--aws-sigv4 needs --remote-transport direct",
  );
  assert.equal(
    usage(["--remote", "http://h", "--environment-id", "e", "--aws-region", "r"]),
    "--aws-region needs --aws-sigv4",
  );
  const config = parseServeArgs(["--remote", "http://h/", "--environment-id", "A-b_9", "--name", "box"]);
  assert.deepEqual(config.remote, {
    url: "http://h/",
    environmentId: "A-b_9",
    name: "box",
    bearerFromStdin: false,
    transport: "noise",
    exitOnStdinClose: false,
    aws: null,
  });
});

Deno.test("reconnect backoff: base doubling from 1 s, capped, jittered 0.5-1.5x", () => {
  for (let attempt = 0; attempt < 8; attempt++) {
    const base = Math.min(30_000, 1000 * 2 ** attempt);
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(attempt, 1000, 30_000);
      assert.ok(delay >= base * 0.5 && delay <= base * 1.5, `${attempt}: ${delay}`);
    }
  }
});

Deno.test("registry environment status: pending before use, ready when connected, disconnected after a relay drop, ready again on use", async () => {
  await withRelayExecutor(async (relay) => {
    const manager = await EnvironmentManager.load({
      env: {
        CODEX_HOME: "/nonexistent-codex-home",
        CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
        CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
        CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
      },
    });
    try {
      assert.deepEqual(manager.environmentIds(), ["remote"]);
      const remote = manager.defaultEnvironment()!;
      assert.match(remote.target, /\(environment env-test_1\)$/);
      assert.deepEqual(await remote.status(), { status: "pending" });
      const client = await remote.client();
      assert.equal((await client.environmentInfo()).shell.name.length > 0, true);
      assert.deepEqual(await remote.status(), { status: "ready" });
      relay.dropExecutors();
      await withTimeout(client.disconnected, 10_000, "the client to see the stream end");
      assert.equal((await remote.status()).status, "disconnected");
      await relay.waitFor(() => relay.executorSockets(ENV) === 1, "reconnect");
      await (await remote.client()).environmentInfo();
      assert.deepEqual(await remote.status(), { status: "ready" });
      assert.equal(relay.callsTo("/connect").length, 2);
    } finally {
      await manager.close();
    }
  });
});
