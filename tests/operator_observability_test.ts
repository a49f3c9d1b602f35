/**
 * What an operator sees: log lines (text and JSON, level and format from flags or env), the startup
 * line, connection and audit lines, `/metrics` and `/readyz`; all against real server subprocesses
 * on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { requires } from "./support/requirements.ts";
import { join } from "node:path";
import { connectWebSocket, MAIN_TS, SERVER_ARGV, startWebSocketServer } from "./support/servers.ts";
import { bashStart, TEST_PATH } from "./support/process_start.ts";
import { waitUntil } from "./support/waiting.ts";
import { startRawServer } from "./http_support.ts";

type LogLine = Record<string, unknown> & { ts: string; level: string; msg: string };

function jsonLines(stderr: string): LogLine[] {
  return stderr.split("\n").filter((l) => l !== "").map((line) => {
    const parsed = JSON.parse(line);
    assert.equal(typeof parsed, "object", line);
    assert.match(parsed.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(["debug", "info", "warn", "error"].includes(parsed.level), line);
    assert.equal(typeof parsed.msg, "string", line);
    return parsed;
  });
}

function b64(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

async function withTokenFile<T>(
  fn: (dir: string, token: string, tokenFile: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "exec-server-ops-" });
  try {
    const token = `tok-${crypto.randomUUID()}`;
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, token + "\n");
    return await fn(dir, token, tokenFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("json log: startup line, connection open/close and audit lines for process, fs and http; no token or env value", async () => {
  await withTokenFile(async (dir, token, tokenFile) => {
    const upstream = startRawServer(async (ex) => {
      await ex.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    });
    const envValue = `env-value-${crypto.randomUUID()}`;
    // The level from EXEC_SERVER_LOG, the format from the flag.
    const server = await startWebSocketServer(
      ["--ws-auth", "capability-token", "--ws-token-file", tokenFile, "--log-format", "json"],
      { EXEC_SERVER_LOG: "info" },
    );
    let sessionId = "";
    try {
      const peer = await connectWebSocket(server.url!, { headers: { authorization: `Bearer ${token}` } });
      sessionId = await peer.handshake();
      await peer.call(
        "process/start",
        bashStart("p1", "printf hello", { env: { PATH: TEST_PATH, SECRET: envValue } }),
      );
      await peer.waitClosed("p1");
      const file = join(dir, "written.txt");
      await peer.call("fs/writeFile", { path: file, dataBase64: b64("data") });
      await peer.call("fs/remove", { path: file });
      // Opening for reading is not audited; opening to replace is a write.
      await peer.call("fs/open", { handleId: "r", path: "/etc/hostname" });
      await peer.call("fs/open", { handleId: "w", path: join(dir, "handle.txt"), mode: "replace" });
      await peer.call("fs/close", { handleId: "w" });
      const answer = await peer.call("http/request", {
        method: "GET",
        url: upstream.url("/x"),
        requestId: "h1",
      });
      assert.equal(answer.status, 200);
      peer.close();
      await waitUntil(() => server.stderr().includes('"connection close"'), "the connection close line");
    } finally {
      await server.close();
      await upstream.close();
    }
    const stderr = server.stderr();
    assert.ok(!stderr.includes(token), "the token leaked into the log");
    assert.ok(!stderr.includes(envValue), "an env value leaked into the log");
    const lines = jsonLines(stderr);
    const started = lines.filter((l) => l.msg === "started");
    assert.equal(started.length, 1, stderr);
    assert.deepEqual(
      { version: typeof started[0].version, listen: started[0].listen, auth: started[0].auth },
      { version: "string", listen: server.url, auth: "capability-token" },
    );
    const event = (type: string) => {
      const found = lines.filter((l) => l.event === type);
      assert.equal(found.length, 1, `${type} in ${stderr}`);
      assert.equal(found[0].level, "info");
      return found[0];
    };
    const open = event("connection.open");
    assert.equal(open.msg, "connection open");
    assert.match(String(open.peer), /^127\.0\.0\.1:\d+$/);
    assert.equal(open.sessionId, sessionId);
    assert.equal(typeof open.clientName, "string");
    const close = event("connection.close");
    assert.equal(close.msg, "connection close");
    assert.deepEqual([close.peer, close.sessionId, close.clientName], [
      open.peer,
      sessionId,
      open.clientName,
    ]);
    const start = event("process.start");
    assert.deepEqual(
      [start.processId, start.argv, start.cwd, start.tty, start.sandboxed, start.sessionId],
      ["p1", ["bash", "-c", "printf hello"], "/tmp", false, false, sessionId],
    );
    const exit = event("process.exit");
    assert.deepEqual([exit.processId, exit.exitCode, exit.signal, exit.outputBytes], ["p1", 0, null, 5]);
    assert.equal(typeof exit.durationMs, "number");
    const writes = lines.filter((l) => l.event === "fs.write").map((l) => [l.method, l.path, l.ok]);
    assert.deepEqual(writes, [
      ["fs/writeFile", join(dir, "written.txt"), true],
      ["fs/open", join(dir, "handle.txt"), true],
    ]);
    const remove = event("fs.remove");
    assert.deepEqual([remove.method, remove.path, remove.ok], ["fs/remove", join(dir, "written.txt"), true]);
    const http = event("http.request");
    assert.deepEqual([http.method, http.host], ["GET", `127.0.0.1:${upstream.port}`]);
  });
});

Deno.test("text log: at the default level only the startup line, with timestamp and level; --log-level beats EXEC_SERVER_LOG", async () => {
  const server = await startWebSocketServer(["--log-level", "warn"], { EXEC_SERVER_LOG: "debug" });
  try {
    const peer = await connectWebSocket(server.url!);
    await peer.handshake();
    await peer.call("process/start", bashStart("p1", "true"));
    await peer.waitClosed("p1");
    peer.close();
  } finally {
    await server.close();
  }
  const lines = server.stderr().split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, server.stderr());
  const startup = new RegExp(
    String.raw`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info exec-server: started version=\S+ ` +
      String.raw`listen=${server.url!.replace(/[.]/g, "\\.")} auth=none$`,
  );
  assert.match(lines[0], startup);
});

Deno.test({
  name: "a process started under a restricted sandbox is audited with sandboxed: true",
  ...requires("bubblewrap"),
  fn: async () => {
    const server = await startWebSocketServer(["--log-level", "info", "--log-format", "json"]);
    try {
      const peer = await connectWebSocket(server.url!);
      await peer.handshake();
      const sandbox = {
        permissions: {
          type: "managed",
          file_system: {
            type: "restricted",
            entries: [
              { path: { type: "special", value: { kind: "root" } }, access: "read" },
              { path: { type: "path", path: "/tmp" }, access: "write" },
            ],
          },
          network: "restricted",
        },
        windowsSandboxLevel: "disabled",
        cwd: "/tmp",
      };
      await peer.call("process/start", bashStart("boxed", "true", { sandbox }));
      await peer.waitClosed("boxed");
      await peer.call("process/start", bashStart("plain", "true"));
      await peer.waitClosed("plain");
      peer.close();
    } finally {
      await server.close();
    }
    const starts = jsonLines(server.stderr()).filter((l) => l.event === "process.start");
    assert.deepEqual(starts.map((l) => [l.processId, l.sandboxed]), [["boxed", true], ["plain", false]]);
  },
});

Deno.test("a bad EXEC_SERVER_LOG or EXEC_SERVER_LOG_FORMAT is a usage error naming the variable", async () => {
  for (const [name, value] of [["EXEC_SERVER_LOG", "loud"], ["EXEC_SERVER_LOG_FORMAT", "xml"]]) {
    const out = await new Deno.Command(SERVER_ARGV[0], {
      args: [...SERVER_ARGV.slice(1), "--listen", "ws://127.0.0.1:0"],
      env: { [name]: value },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, new RegExp(`${name} expects .* got \`${value}\``));
  }
});

Deno.test("the CLI closes its WebSocket cleanly: the server logs a normal close (1000)", async () => {
  const server = await startWebSocketServer(["--log-level", "info", "--log-format", "json"]);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN_TS, "run", "--url", server.url!, "--", "true"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    await waitUntil(() => server.stderr().includes('"connection close"'), "the connection close line");
  } finally {
    await server.close();
  }
  const close = jsonLines(server.stderr()).find((l) => l.event === "connection.close");
  assert.match(String(close?.reason), /^closed \(1000\b/, server.stderr());
});

/** A parsed exposition: sample values by `name{sorted labels}`, and each family's declared type. */
interface Exposition {
  samples: Map<string, number>;
  types: Map<string, string>;
}

function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const labels: string[] = [];
    for (const m of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels.push(`${m[1]}=${m[2]}`);
    }
    const value = sample[3] === "+Inf" ? Infinity : Number(sample[3]);
    assert.ok(!Number.isNaN(value), line);
    const family = sample[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(sample[1]) || types.get(family) === "histogram", `no TYPE for ${sample[1]}`);
    samples.set(`${sample[1]}{${labels.sort().join(",")}}`, value);
  }
  return { samples, types };
}

Deno.test("/metrics: Prometheus text behind the WebSocket token, /readyz open; counters move with requests", async () => {
  await withTokenFile(async (_dir, token, tokenFile) => {
    const server = await startWebSocketServer([
      "--ws-auth",
      "capability-token",
      "--ws-token-file",
      tokenFile,
    ]);
    try {
      const http = server.url!.replace("ws:", "http:");
      const unauthenticated = await fetch(`${http}/metrics`);
      await unauthenticated.body?.cancel();
      assert.equal(unauthenticated.status, 401);
      const wrong = await fetch(`${http}/metrics`, { headers: { authorization: "Bearer nope" } });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
      const ready = await fetch(`${http}/readyz`);
      await ready.body?.cancel();
      assert.equal(ready.status, 200);
      const scrape = async () => {
        const response = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        return parseExposition(await response.text());
      };
      const before = await scrape();
      const expected: Record<string, string> = {
        exec_server_connections: "gauge",
        exec_server_sessions: "gauge",
        exec_server_processes_running: "gauge",
        exec_server_processes_started_total: "counter",
        exec_server_output_bytes_total: "counter",
        exec_server_requests_total: "counter",
        exec_server_request_duration_seconds: "histogram",
      };
      for (const [name, type] of Object.entries(expected)) assert.equal(before.types.get(name), type, name);
      const value = (e: Exposition, key: string) => e.samples.get(key) ?? 0;
      assert.equal(value(before, "exec_server_connections{}"), 0);

      const peer = await connectWebSocket(server.url!, { headers: { authorization: `Bearer ${token}` } });
      await peer.handshake();
      await peer.call("process/start", bashStart("p1", "printf 0123456789"));
      await peer.waitClosed("p1");
      const unknown = await peer.request("no/such/method", {});
      assert.ok("error" in unknown);
      const during = await scrape();
      peer.close();

      assert.equal(value(during, "exec_server_connections{}"), 1);
      assert.equal(value(during, "exec_server_sessions{}"), 1);
      assert.equal(value(during, "exec_server_processes_running{}"), 0);
      assert.equal(value(during, "exec_server_processes_started_total{}"), 1);
      assert.equal(
        value(during, "exec_server_output_bytes_total{}") - value(before, "exec_server_output_bytes_total{}"),
        10,
      );
      assert.equal(value(during, "exec_server_requests_total{method=process/start,outcome=ok}"), 1);
      assert.equal(value(during, "exec_server_requests_total{method=initialize,outcome=ok}"), 1);
      assert.equal(value(during, "exec_server_requests_total{method=unknown,outcome=error}"), 1);
      // The histogram is cumulative and agrees with the request counts.
      const count = value(during, "exec_server_request_duration_seconds_count{method=process/start}");
      assert.equal(count, 1);
      const buckets = [...during.samples].filter(([k]) =>
        k.startsWith("exec_server_request_duration_seconds_bucket{") && k.includes("method=process/start")
      ).map(([, v]) => v);
      assert.ok(buckets.length > 5);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1]);
      assert.equal(
        value(during, "exec_server_request_duration_seconds_bucket{le=+Inf,method=process/start}"),
        1,
      );
      assert.ok(value(during, "exec_server_request_duration_seconds_sum{method=process/start}") > 0);
    } finally {
      await server.close();
    }
  });
});
