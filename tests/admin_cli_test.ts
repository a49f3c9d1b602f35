/**
 * The operator's admin surface (`/admin/...`) and its commands `exec-server ps`, `logs` and `kill`, against
 * real server subprocesses on 127.0.0.1 with processes started through the client library: what is listed,
 * output read and followed live, termination seen on the agent's side, the credential model (admin token,
 * agent token, local access) and the audit lines of every admin action.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import type { ProcessHandle } from "../src/client/process_handle.ts";
import { runCli } from "./client_test_util.ts";
import { MAIN_TS, type ServerProcess, startWebSocketServer } from "./support/servers.ts";
import { TEST_PATH } from "./support/process_start.ts";
import { waitUntil, withTimeout } from "./support/waiting.ts";

interface Fixture {
  server: ServerProcess;
  client: ExecServerClient;
  agentToken: string;
  adminToken: string;
  adminTokenFile: string;
  dir: string;
}

/** A server with agent and admin tokens (JSON log at info) and a client connected with the agent token. */
async function withServer(fn: (f: Fixture) => Promise<void>, clientName = "admin-test-agent"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exec-server-admin-" });
  const agentToken = `agent-${crypto.randomUUID()}`;
  const adminToken = `admin-${crypto.randomUUID()}`;
  const agentTokenFile = join(dir, "agent");
  const adminTokenFile = join(dir, "admin");
  await Deno.writeTextFile(agentTokenFile, `${agentToken}\n`);
  await Deno.writeTextFile(adminTokenFile, `${adminToken}\n`);
  const server = await startWebSocketServer(
    [
      "--ws-auth",
      "capability-token",
      "--ws-token-file",
      agentTokenFile,
      "--admin-token-file",
      adminTokenFile,
      "--log-format",
      "json",
    ],
    { EXEC_SERVER_LOG: "info" },
  );
  let client: ExecServerClient | null = null;
  try {
    client = await ExecServerClient.connect(
      { kind: "websocket", url: server.url!, headers: { authorization: `Bearer ${agentToken}` } },
      { clientName },
    );
    await fn({ server, client, agentToken, adminToken, adminTokenFile, dir });
  } finally {
    await client?.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function admin(f: Fixture): string[] {
  return ["--url", f.server.url!, "--admin-token-file", f.adminTokenFile];
}

function httpBase(f: Fixture): string {
  return f.server.url!.replace(/^ws:/, "http:");
}

/** Starts `bash -c script` through the client and drains its events (as an agent would consume them). */
async function start(
  client: ExecServerClient,
  processId: string,
  script: string,
  pipeStdin = false,
): Promise<ProcessHandle> {
  const handle = await client.startProcess({
    processId,
    argv: ["bash", "-c", script],
    cwd: "/tmp",
    env: { PATH: TEST_PATH },
    pipeStdin,
  });
  (async () => {
    for await (const _ of handle.events) { /* consumed */ }
  })();
  return handle;
}

type LogLine = Record<string, unknown>;

function auditLines(stderr: string, type: string): LogLine[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.event === type);
}

Deno.test("ps lists the sessions and the processes started through the client, as a table and as JSON", async () => {
  await withServer(async (f) => {
    const handle = await start(f.client, "sleeper", "echo ready; exec sleep 60");
    const done = await start(f.client, "quick", "printf 12345");
    assert.equal((await done.wait()).exitCode, 0);
    const table = await runCli(["ps", ...admin(f)]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /^session [0-9a-f-]{36} {2}client admin-test-agent {2}peer 127\.0\.0\.1:\d+ {2}attached/m,
    );
    assert.match(
      table.stdout,
      /^ {2}sleeper +\d+ +running +- +\d+s +\d+B +no +no +\/tmp +bash -c 'echo ready; exec sleep 60'$/m,
    );
    assert.match(
      table.stdout,
      /^ {2}quick +\d+ +closed +0 +\d+s +5B +no +no +\/tmp +bash -c 'printf 12345'$/m,
    );
    const json = await runCli(["ps", "--json", ...admin(f)]);
    assert.equal(json.code, 0, json.stderr);
    const [session] = JSON.parse(json.stdout).sessions;
    assert.equal(session.clientName, "admin-test-agent");
    assert.equal(session.attached, true);
    const sleeper = session.processes.find((p: { processId: string }) => p.processId === "sleeper");
    assert.deepEqual(
      [
        sleeper.argv,
        sleeper.cwd,
        sleeper.tty,
        sleeper.sandboxed,
        sleeper.state,
        sleeper.exitCode,
        sleeper.endedAt,
      ],
      [["bash", "-c", "echo ready; exec sleep 60"], "/tmp", false, false, "running", null, null],
    );
    const quick = session.processes.find((p: { processId: string }) => p.processId === "quick");
    assert.deepEqual([quick.state, quick.exitCode, quick.outputBytes], ["closed", 0, 5]);
    assert.ok(quick.endedAt >= quick.startedAt);
    await handle.terminate();
  });
});

Deno.test("logs prints the retained output of a process, stderr on stderr, without taking it from the agent", async () => {
  await withServer(async (f) => {
    const handle = await start(f.client, "talker", "echo to-out; echo to-err >&2");
    assert.equal((await handle.wait()).exitCode, 0);
    const logs = await runCli(["logs", ...admin(f), "talker"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, "to-out\n");
    assert.equal(logs.stderr, "to-err\n");
    // The agent's own read still sees everything: the admin read acknowledged nothing.
    const read = await handle.read({ afterSeq: 0 });
    assert.ok(read.chunks.length >= 2);
    const missing = await runCli(["logs", ...admin(f), "nosuch"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "exec-server logs: no process nosuch\n");
  });
});

Deno.test("logs -f follows new output live and ends when the process closes", async () => {
  await withServer(async (f) => {
    const handle = await start(
      f.client,
      "echoer",
      'echo start; while read l; do echo "out:$l"; done; echo bye',
      true,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN_TS, "logs", "-f", ...admin(f), "echoer"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const until = (text: string) =>
      withTimeout(
        (async () => {
          while (!seen.includes(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`logs -f ended before printing ${text}: ${seen} ${await stderr}`);
            seen += value;
          }
        })(),
        20_000,
        `logs -f to print ${JSON.stringify(text)} (so far ${JSON.stringify(seen)})`,
      );
    await until("start\n");
    await handle.write("one\n");
    await until("out:one\n");
    await handle.write("two\n");
    await until("out:two\n");
    await handle.closeStdin();
    await until("bye\n");
    const status = await withTimeout(child.status, 20_000, "logs -f to end with the process");
    assert.equal((await reader.read()).done, true);
    assert.equal(status.code, 0, await stderr);
    assert.equal(seen, "start\nout:one\nout:two\nbye\n");
  });
});

Deno.test("kill terminates a process (the agent sees it end) and kill --session ends a whole session", async () => {
  await withServer(async (f) => {
    const handle = await start(f.client, "victim", "exec sleep 60");
    const killed = await runCli(["kill", ...admin(f), "victim"]);
    assert.equal(killed.code, 0, killed.stderr);
    assert.match(killed.stdout, /^terminated process victim \(session [0-9a-f-]{36}\)\n$/);
    const outcome = await withTimeout(handle.wait(), 10_000, "the agent to see the process end");
    assert.equal(outcome.exitCode, 143);

    const again = await runCli(["kill", ...admin(f), "victim"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /had already exited/);

    const other = await ExecServerClient.connect({
      kind: "websocket",
      url: f.server.url!,
      headers: { authorization: `Bearer ${f.agentToken}` },
    }, { clientName: "second-agent" });
    try {
      const long = await start(other, "long", "exec sleep 60");
      const ps = JSON.parse((await runCli(["ps", "--json", ...admin(f)])).stdout);
      const session = ps.sessions.find((s: { clientName: string }) => s.clientName === "second-agent");
      const ended = await runCli(["kill", ...admin(f), "--session", session.sessionId.slice(0, 8)]);
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(ended.stdout, `terminated session ${session.sessionId} (1 running processes)\n`);
      const gone = await withTimeout(long.wait(), 10_000, "the second agent's process to end");
      assert.notEqual(gone.failure ?? gone.exitCode, 0);
      const after = JSON.parse((await runCli(["ps", "--json", ...admin(f)])).stdout);
      assert.deepEqual(after.sessions.map((s: { clientName: string }) => s.clientName), ["admin-test-agent"]);
    } finally {
      await other.close();
    }
  });
});

Deno.test("a process id in two sessions needs --session", async () => {
  await withServer(async (f) => {
    const other = await ExecServerClient.connect({
      kind: "websocket",
      url: f.server.url!,
      headers: { authorization: `Bearer ${f.agentToken}` },
    });
    try {
      await (await start(f.client, "same", "printf first")).wait();
      await (await start(other, "same", "printf second")).wait();
      const ambiguous = await runCli(["logs", ...admin(f), "same"]);
      assert.equal(ambiguous.code, 1);
      assert.match(
        ambiguous.stderr,
        /^exec-server logs: process same exists in 2 sessions \(.*\); pass --session ID\n$/,
      );
      const ps = JSON.parse((await runCli(["ps", "--json", ...admin(f)])).stdout);
      const second = ps.sessions.find((s: { clientName: string }) => s.clientName !== "admin-test-agent");
      const logs = await runCli(["logs", ...admin(f), "--session", second.sessionId, "same"]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.equal(logs.stdout, "second");
    } finally {
      await other.close();
    }
  });
});

Deno.test("admin refuses a missing or wrong token and the agent's token (401), and the admin token opens no agent connection", async () => {
  await withServer(async (f) => {
    const base = httpBase(f);
    const status = async (headers: Record<string, string>) => {
      const response = await fetch(`${base}/admin/sessions`, { headers });
      const body = await response.text();
      return [response.status, body.trim()];
    };
    assert.deepEqual(await status({}), [401, "missing admin bearer token"]);
    assert.deepEqual(await status({ authorization: "Bearer wrong" }), [401, "invalid admin bearer token"]);
    assert.deepEqual(await status({ authorization: `Bearer ${f.agentToken}` }), [
      401,
      "invalid admin bearer token",
    ]);
    assert.deepEqual((await status({ authorization: `Bearer ${f.adminToken}` }))[0], 200);
    // A web page cannot drive it, token or not.
    const fromPage = await status({ authorization: `Bearer ${f.adminToken}`, origin: "http://evil.example" });
    assert.deepEqual(fromPage, [403, "browser origins are not allowed"]);
    const terminate = await fetch(`${base}/admin/sessions/x/terminate`, {
      method: "POST",
      headers: { authorization: `Bearer ${f.agentToken}` },
    });
    await terminate.body?.cancel();
    assert.equal(terminate.status, 401);

    const cli = await runCli(["ps", "--url", f.server.url!]);
    assert.equal(cli.code, 1);
    assert.equal(
      cli.stderr,
      "exec-server ps: missing admin bearer token (pass the server's admin token with --admin-token-file)\n",
    );
    await assert.rejects(
      ExecServerClient.connect({
        kind: "websocket",
        url: f.server.url!,
        headers: { authorization: `Bearer ${f.adminToken}` },
      }),
    );
    const unreachable = await runCli([
      "ps",
      "--url",
      "ws://127.0.0.1:9",
      "--admin-token-file",
      f.adminTokenFile,
    ]);
    assert.equal(unreachable.code, 255, unreachable.stderr);
    const usage = await runCli(["kill", ...admin(f)]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^exec-server kill: missing PROCESS_ID or --session ID\n/);
  });
});

Deno.test("every admin action and refusal is an audit line in the JSON log, and no token is logged", async () => {
  let stderr = "";
  let sessionId = "";
  await withServer(async (f) => {
    const handle = await start(f.client, "audited", "echo hi; exec sleep 60");
    assert.equal((await runCli(["ps", ...admin(f)])).code, 0);
    assert.equal((await runCli(["logs", ...admin(f), "audited"])).code, 0);
    assert.equal((await runCli(["kill", ...admin(f), "audited"])).code, 0);
    await handle.wait();
    assert.equal((await runCli(["ps", "--url", f.server.url!])).code, 1);
    await waitUntil(() => f.server.stderr().includes('"admin refused"'), "the refusal line");
    sessionId = JSON.parse((await runCli(["ps", "--json", ...admin(f)])).stdout).sessions[0].sessionId;
    stderr = f.server.stderr();
    assert.ok(!stderr.includes(f.adminToken), "the admin token leaked into the log");
    assert.ok(!stderr.includes(f.agentToken), "the agent token leaked into the log");
  });
  const [list] = auditLines(stderr, "admin.list");
  assert.equal(list.msg, "admin list");
  assert.equal(list.level, "info");
  assert.match(String(list.peer), /^127\.0\.0\.1:\d+$/);
  const [output] = auditLines(stderr, "admin.output");
  assert.deepEqual([output.sessionId, output.processId], [sessionId, "audited"]);
  const [terminate] = auditLines(stderr, "admin.terminate");
  assert.deepEqual([terminate.sessionId, terminate.processId, terminate.found], [sessionId, "audited", true]);
  const [refused] = auditLines(stderr, "admin.refused");
  assert.deepEqual([refused.path, refused.reason], ["/admin/sessions", "missing admin bearer token"]);
});

Deno.test("without an admin token the surface is open on a loopback listener without --ws-auth, and off with --ws-auth", async () => {
  const open = await startWebSocketServer([]);
  try {
    const client = await ExecServerClient.connect({ kind: "websocket", url: open.url! });
    try {
      await start(client, "local", "exec sleep 60");
      const ps = await runCli(["ps", "--url", open.url!]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, /^ {2}local +\d+ +running/m);
      const kill = await runCli(["kill", "--url", open.url!, "local"]);
      assert.equal(kill.code, 0, kill.stderr);
    } finally {
      await client.close();
    }
  } finally {
    await open.close();
  }
  const dir = await Deno.makeTempDir({ prefix: "exec-server-admin-" });
  const tokenFile = join(dir, "agent");
  await Deno.writeTextFile(tokenFile, "agent-token\n");
  const guarded = await startWebSocketServer(["--ws-auth", "capability-token", "--ws-token-file", tokenFile]);
  try {
    const response = await fetch(`${guarded.url!.replace(/^ws:/, "http:")}/admin/sessions`, {
      headers: { authorization: "Bearer agent-token" },
    });
    assert.equal(response.status, 403);
    assert.match(
      await response.text(),
      /^the admin surface is off: start the server with --admin-token-file PATH/,
    );
    const same = await runCli([
      "--listen",
      "ws://127.0.0.1:0",
      "--ws-auth",
      "capability-token",
      "--ws-token-file",
      tokenFile,
      "--admin-token-file",
      tokenFile,
    ]);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /--admin-token-file holds the same token as --ws-token-file/);
  } finally {
    await guarded.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ps lists hundreds of processes, and logs -f keeps up with fast output byte for byte while the agent reads it too", async () => {
  await withServer(async (f) => {
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => start(f.client, `many-${i}`, "printf x")),
    );
    await Promise.all(many.map((h) => h.wait()));
    const listing = JSON.parse((await runCli(["ps", "--json", ...admin(f)])).stdout);
    const ids = listing.sessions[0].processes.map((p: { processId: string }) => p.processId);
    assert.equal(ids.filter((id: string) => id.startsWith("many-")).length, 200);

    // The follower starts first, then the output comes as fast as base64 can write it.
    const handle = await f.client.startProcess({
      processId: "fast",
      argv: ["bash", "-c", "read go; head -c 3000000 /dev/zero | base64"],
      cwd: "/tmp",
      env: { PATH: TEST_PATH },
      pipeStdin: true,
    });
    let agentBytes = 0;
    const agent = (async () => {
      for await (const event of handle.events) {
        if (event.type === "output") agentBytes += event.chunk.length;
      }
    })();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN_TS, "logs", "-f", ...admin(f), "fast"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The follower's first read is audited: from then on it is following.
    await waitUntil(
      () => auditLines(f.server.stderr(), "admin.output").some((l) => l.processId === "fast"),
      "logs -f to start following",
      20_000,
    );
    await handle.write("go\n");
    const { code, stdout, stderr } = await withTimeout(child.output(), 60_000, "logs -f to finish");
    await agent;
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const expected = Math.ceil(3_000_000 / 3) * 4 + Math.ceil(Math.ceil(3_000_000 / 3) * 4 / 76);
    assert.equal(agentBytes, expected);
    assert.equal(stdout.length, expected);
  });
});

Deno.test("ps, logs and kill find the server from environments.toml with --env, and explain the local environment", async () => {
  await withServer(async (f) => {
    const config = join(f.dir, "environments.toml");
    await Deno.writeTextFile(config, `[[environments]]\nid = "box"\nurl = "${f.server.url}"\n`);
    const handle = await start(f.client, "boxed", "echo from-box; exec sleep 60");
    const target = ["--config", config, "--env", "box", "--admin-token-file", f.adminTokenFile];
    const ps = await runCli(["ps", ...target]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^ {2}boxed +\d+ +running/m);
    const logs = await runCli(["logs", ...target, "boxed"]);
    assert.equal(logs.stdout, "from-box\n");
    const kill = await runCli(["kill", ...target, "boxed"]);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal((await withTimeout(handle.wait(), 10_000, "the process to end")).exitCode, 143);
    const local = await runCli(["ps", "--config", config]);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /the local environment runs inside this command and has nothing to show/);
    const unknown = await runCli(["ps", "--config", config, "--env", "nope"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown environment `nope`/);
  });
});
