/**
 * Remote registration against the real Codex 0.171 binaries on loopback, through the development relay:
 * `codex app-server` as the harness reaching our `serve --remote` executor (environment `remote`), and the
 * real `codex exec-server --remote` as the executor reached by our harness side.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { codexBinary } from "./codex/fetch_codex.ts";
import { DevRelay } from "./support/dev_relay.ts";
import { connectRelayHarness } from "../src/remote/relay_harness.ts";
import { outputText, RpcPeer } from "./support/rpc_peer.ts";
import { bashStart } from "./support/process_start.ts";
import { SERVER_ARGV } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";
import { describeTurn, runCodexTurn } from "./codex/harness.ts";
import { runCli } from "./client_test_util.ts";
import {
  assertOutputContains,
  assertTurnCompleted,
  basicScenario,
  expectedHello,
  randomToken,
} from "./codex/scenarios.ts";

const ENV = "codex-e2e";

/** A CODEX_HOME outside /tmp (Codex refuses some paths under it), removed afterwards. */
async function codexHome(): Promise<string> {
  const base = join(Deno.env.get("HOME") ?? "/root", ".cache", "exec-server-tests");
  await Deno.mkdir(base, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: base, prefix: "remote-home-" });
  await Deno.writeTextFile(
    join(dir, "config.toml"),
    "check_for_update_on_startup = false\n\n[analytics]\nenabled = false\n\n[features]\nplugins = false\napps = false\n",
  );
  return dir;
}

function startOurExecutor(
  relay: DevRelay,
  cwd: string,
  stderr: "inherit" | "piped" = "inherit",
): Deno.ChildProcess {
  const [program, ...args] = SERVER_ARGV;
  return new Deno.Command(program, {
    args: [...args, "serve", "--remote", relay.url, "--environment-id", ENV, "--log-level", "info"],
    env: { CODEX_API_KEY: relay.executorToken },
    cwd,
    stdin: "null",
    stdout: "null",
    stderr,
  }).spawn();
}

/** A line-delimited JSON-RPC client for `codex app-server` over stdio. */
class AppServer {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting = new Map<number, PromiseWithResolvers<Record<string, unknown>>>();
  readonly stderr: Promise<string>;
  #nextId = 1;

  constructor(codex: string, home: string, env: Record<string, string>) {
    this.child = new Deno.Command(codex, {
      args: ["app-server"],
      env: { CODEX_HOME: home, NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.stderr = new Response(this.child.stderr).text();
    this.#read();
  }

  async #read(): Promise<void> {
    const lines = this.child.stdout.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof message.id === "number" && !message.method) {
          this.#waiting.get(message.id)?.resolve(message);
        }
      }
    }
  }

  async request(method: string, params: unknown): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const reply = Promise.withResolvers<Record<string, unknown>>();
    this.#waiting.set(id, reply);
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ id, method, params }) + "\n"));
    return await withTimeout(reply.promise, 30_000, `app-server ${method}`);
  }

  async notify(method: string, params: unknown): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ method, params }) + "\n"));
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    try {
      this.child.kill("SIGTERM");
    } catch {
      // gone
    }
    await withTimeout(this.child.status, 15_000, "app-server exit");
  }
}

/**
 * Runs `body` with the real `codex exec-server --remote` 0.171 registered at a dev relay as environment
 * {@link ENV} (its rendezvous socket open), then stops both.
 */
async function withCodexExecutor(body: (relay: DevRelay) => Promise<void>): Promise<void> {
  const codex = await codexBinary("0.171.0");
  const relay = await DevRelay.start();
  const home = await codexHome();
  const child = new Deno.Command(codex, {
    args: ["exec-server", "--remote", relay.url, "--environment-id", ENV],
    env: { CODEX_HOME: home, CODEX_API_KEY: relay.executorToken },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "Codex's rendezvous socket");
    await body(relay);
  } finally {
    child.kill("SIGTERM");
    await withTimeout(child.status, 15_000, "codex exit");
    await relay.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

Deno.test("codex app-server 0.171 as harness: environment `remote` through our executor is ready, reports our cwd, and resumes its session after a relay drop", async () => {
  const codex = await codexBinary("0.171.0");
  const relay = await DevRelay.start();
  const home = await codexHome();
  const workDir = await Deno.makeTempDir({ prefix: "remote-cwd-" });
  const executor = startOurExecutor(relay, workDir, "piped");
  const executorLog = new Response(executor.stderr).text();
  let app: AppServer | null = null;
  try {
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "our executor's rendezvous socket");
    app = new AppServer(codex, home, {
      CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
      CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
      CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
    });
    const init = await app.request("initialize", {
      clientInfo: { name: "exec-server-tests", version: "0" },
      capabilities: { experimentalApi: true },
    });
    assert.ok(init.result, JSON.stringify(init));
    await app.notify("initialized", {});
    const info = await app.request("environment/info", { environmentId: "remote" });
    assert.ok(info.result, JSON.stringify(info));
    const result = info.result as Record<string, unknown>;
    assert.equal(result.cwd, new URL(`file://${await Deno.realPath(workDir)}`).href, JSON.stringify(result));
    const status = await app.request("environment/status", { environmentId: "remote" });
    assert.equal((status.result as Record<string, unknown>).status, "ready", JSON.stringify(status));
    const connects = relay.callsTo("/connect").length;
    assert.equal(relay.callsTo("/validate").length, connects);
    // A relay drop: our executor reconnects; the harness sees the stream go, and its next use opens a new
    // stream (a new /connect) whose initialize resumes the same session on our executor.
    const upgrades = relay.executorUpgrades;
    relay.dropExecutors();
    await relay.waitFor(
      () => relay.executorUpgrades > upgrades && relay.executorSockets(ENV) === 1,
      "reconnect",
    );
    const after = await app.request("environment/status", { environmentId: "remote" });
    assert.notEqual((after.result as Record<string, unknown>).status, "unknown", JSON.stringify(after));
    const again = await app.request("environment/info", { environmentId: "remote" });
    assert.equal((again.result as Record<string, unknown>).cwd, result.cwd, JSON.stringify(again));
    assert.ok(relay.callsTo("/connect").length > connects);
    await app.close();
    app = null;
    executor.kill("SIGTERM");
    await withTimeout(executor.status, 15_000, "executor exit");
    assert.match(await executorLog, /session [0-9a-f-]+ resumed by connection/);
  } finally {
    await app?.close();
    try {
      executor.kill("SIGTERM");
    } catch {
      // already stopped
    }
    await withTimeout(executor.status, 15_000, "executor exit");
    await executorLog.catch(() => "");
    await relay.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("codex exec 0.171 through the registry: a scripted command runs on our executor and its output comes back", async () => {
  const codex = await codexBinary("0.171.0");
  const relay = await DevRelay.start();
  const workDir = await Deno.makeTempDir({ prefix: "remote-turn-" });
  const executor = startOurExecutor(relay, workDir);
  try {
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "our executor's rendezvous socket");
    const token = randomToken();
    const result = await runCodexTurn({
      codex,
      server: { kind: "websocket", url: "ws://127.0.0.1:1" }, // unused with selection none
      selection: "none",
      env: {
        CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
        CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
        CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
      },
      steps: basicScenario(token, workDir),
      workDir,
      timeoutMs: 90_000,
    });
    assertTurnCompleted(result);
    assertOutputContains(result, 0, "exec_command", [expectedHello(token)]);
    assert.ok(relay.callsTo("/validate").length >= 1, describeTurn(result));
  } finally {
    executor.kill("SIGTERM");
    await withTimeout(executor.status, 15_000, "executor exit");
    await relay.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("exec-server envs through the registry variables reaches the real codex exec-server --remote 0.171", () =>
  withCodexExecutor(async (relay) => {
    const emptyHome = await Deno.makeTempDir({ prefix: "remote-client-home-" });
    const result = await runCli(["envs"], {
      env: {
        CODEX_HOME: emptyHome,
        CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
        CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
        CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
      },
    });
    await Deno.remove(emptyHome, { recursive: true });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /\* *remote +registry/);
    assert.match(result.stdout, /bash/);
    assert.equal(relay.callsTo("/connect").length, 1);
  }));

Deno.test("codex exec-server --remote 0.171 as executor: our harness side runs a command through the relay", () =>
  withCodexExecutor(async (relay) => {
    const transport = await connectRelayHarness({
      registryUrl: relay.url,
      environmentId: ENV,
      authToken: relay.harnessToken,
    });
    const peer = new RpcPeer(transport, { checkResults: false });
    await peer.handshake();
    await peer.call(
      "process/start",
      bashStart("hello", "echo hello-from-codex-executor", { cwd: "file:///tmp" }),
    );
    assert.equal(outputText(await peer.waitClosed("hello", 15_000)), "hello-from-codex-executor\n");
    transport.close();
  }));

Deno.test("our exec-server forward in front of the real codex exec-server 0.171: codex app-server reaches it as `remote`", async () => {
  const codex = await codexBinary("0.171.0");
  const relay = await DevRelay.start();
  const home = await codexHome();
  const backendDir = await Deno.makeTempDir({ prefix: "remote-backend-" });
  const backend = new Deno.Command(codex, {
    args: ["exec-server", "--listen", "ws://127.0.0.1:0"],
    env: { CODEX_HOME: home },
    cwd: backendDir,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = backend.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  for (let i = 0; i < 100 && !printed.includes("\n"); i++) {
    const { value, done } = await withTimeout(reader.read(), 15_000, "codex exec-server URL");
    if (done) break;
    printed += value;
  }
  const backendUrl = printed.trim();
  const [program, ...args] = SERVER_ARGV;
  const forward = new Deno.Command(program, {
    args: [...args, "forward", "--remote", relay.url, "--environment-id", ENV, "--connect", backendUrl],
    env: { CODEX_API_KEY: relay.executorToken },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let app: AppServer | null = null;
  try {
    assert.match(backendUrl, /^ws:\/\/127\.0\.0\.1:\d+$/);
    await relay.waitFor(() => relay.executorSockets(ENV) === 1, "the forwarder's rendezvous socket");
    app = new AppServer(codex, home, {
      CODEX_EXEC_SERVER_NOISE_REGISTRY_URL: relay.url,
      CODEX_EXEC_SERVER_NOISE_ENVIRONMENT_ID: ENV,
      CODEX_EXEC_SERVER_NOISE_AUTH_TOKEN: relay.harnessToken,
    });
    await app.request("initialize", {
      clientInfo: { name: "exec-server-tests", version: "0" },
      capabilities: { experimentalApi: true },
    });
    await app.notify("initialized", {});
    const info = await app.request("environment/info", { environmentId: "remote" });
    const result = info.result as Record<string, unknown>;
    // The backend's directory: the answer came from Codex's executor behind our forwarder.
    assert.equal(result.cwd, new URL(`file://${await Deno.realPath(backendDir)}`).href, JSON.stringify(info));
    const status = await app.request("environment/status", { environmentId: "remote" });
    assert.equal((status.result as Record<string, unknown>).status, "ready", JSON.stringify(status));
  } finally {
    await app?.close();
    forward.kill("SIGTERM");
    await withTimeout(forward.status, 15_000, "forward exit");
    reader.cancel().catch(() => {});
    backend.kill("SIGTERM");
    await withTimeout(backend.status, 15_000, "codex exit");
    await relay.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(backendDir, { recursive: true }).catch(() => {});
  }
});

const AWS = {
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  region: "us-east-1",
  service: "execute-api",
};
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
  AWS_REGION: AWS.region,
  AWS_EC2_METADATA_DISABLED: "true",
};

Deno.test("direct with --aws-sigv4: the dev relay's SigV4 check accepts the real codex 0.171 executor and ours alike", async () => {
  const codex = await codexBinary("0.171.0");
  const relay = await DevRelay.start({ sigv4: AWS });
  const home = await codexHome();
  const theirs = new Deno.Command(codex, {
    args: [
      "exec-server",
      "--remote",
      relay.url,
      "--environment-id",
      ENV,
      "--remote-transport",
      "direct",
      "--aws-sigv4",
    ],
    env: { CODEX_HOME: home, ...AWS_ENV },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const theirLog = new Response(theirs.stderr).text();
  const [program, ...args] = SERVER_ARGV;
  let ours: Deno.ChildProcess | null = null;
  try {
    await relay.waitFor(
      () => relay.directUpgradeAuth.includes("sigv4"),
      "Codex's signed direct upgrade",
      20_000,
    )
      .catch(async (error) => {
        theirs.kill("SIGTERM");
        throw new Error(`${error.message}\n${JSON.stringify(relay.calls)}\n${await theirLog}`);
      });
    assert.equal(relay.callsTo("/direct/register")[0].status, 200);
    assert.match(
      relay.callsTo("/direct/register")[0].headers.authorization,
      /SignedHeaders=content-type;host;x-amz-date,/,
    );
    theirs.kill("SIGTERM");
    await withTimeout(theirs.status, 15_000, "codex exit");
    ours = new Deno.Command(program, {
      args: [
        ...args,
        "serve",
        "--remote",
        relay.url,
        "--environment-id",
        ENV,
        "--remote-transport",
        "direct",
        "--aws-sigv4",
      ],
      env: AWS_ENV,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    await relay.waitFor(() => relay.callsTo("/direct/register").length === 2, "our signed registration");
    assert.equal(relay.callsTo("/direct/register")[1].status, 200);
    await relay.waitFor(
      () => relay.directUpgradeAuth.filter((a) => a === "sigv4").length >= 2,
      "our signed upgrade",
    );
    assert.ok(!relay.directUpgradeAuth.includes("refused"));
  } finally {
    try {
      theirs.kill("SIGTERM");
    } catch {
      // stopped
    }
    await theirs.status;
    await theirLog;
    ours?.kill("SIGTERM");
    if (ours) await withTimeout(ours.status, 15_000, "exit");
    await relay.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
