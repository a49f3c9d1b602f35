import assert from "node:assert/strict";
import { ExecServerClientError } from "../src/client/client_error.ts";
import type { ProcessEvent } from "../src/client/process_event.ts";
import { EnvironmentInfo, FsGetMetadata } from "../src/protocol/methods.ts";
import { CLIENT_TRANSPORTS, text, withClient } from "./client_test_util.ts";
import { withTimeout } from "./support/waiting.ts";

for (const transport of CLIENT_TRANSPORTS) {
  Deno.test(`ExecServerClient [${transport}] handshakes and answers environment/info`, async () => {
    await withClient(transport, async (client) => {
      assert.match(client.sessionId, /^[0-9a-f-]{36}$/);
      const info = await client.request(EnvironmentInfo, null);
      assert.equal(typeof info.shell.path, "string");
      assert.deepEqual(await client.environmentInfo(), info);
    });
  });

  Deno.test(`ExecServerClient [${transport}] covers every fs method`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "client-fs-" });
    try {
      await withClient(transport, async (client) => {
        await client.createDirectory(`${dir}/a/b`);
        await client.writeFile(`${dir}/a/b/f.txt`, "hello world");
        assert.equal(text(await client.readFile(`${dir}/a/b/f.txt`)), "hello world");
        const ranged = await client.readFileRange(`${dir}/a/b/f.txt`, { offset: 6, length: 3 });
        assert.equal(text(Uint8Array.fromBase64(ranged.dataBase64)), "wor");
        assert.equal(ranged.size, 11);
        assert.equal(ranged.eof, false);
        await client.writeFile(`${dir}/a/b/f.txt`, "W", { offset: 6 });
        await client.writeFile(`${dir}/a/b/f.txt`, "!", { append: true });
        assert.equal(await Deno.readTextFile(`${dir}/a/b/f.txt`), "hello World!");
        const meta = await client.request(FsGetMetadata, { path: `${dir}/a/b/f.txt` });
        assert.equal(meta.isFile, true);
        assert.equal(meta.size, 12);
        assert.equal((await client.getMetadata(`${dir}/a`)).isDirectory, true);
        assert.equal(
          await client.canonicalize(`${dir}/a/b/../b/f.txt`),
          `file://${await Deno.realPath(dir)}/a/b/f.txt`,
        );
        assert.deepEqual(await client.readDirectory(`${dir}/a/b`), [{
          fileName: "f.txt",
          isDirectory: false,
          isFile: true,
        }]);
        await client.copy(`${dir}/a`, `${dir}/c`, { recursive: true });
        assert.equal(await Deno.readTextFile(`${dir}/c/b/f.txt`), "hello World!");
        await client.remove(`${dir}/c`);
        await assert.rejects(Deno.stat(`${dir}/c`), Deno.errors.NotFound);
        const missing = await client.readFile(`${dir}/missing`).catch((e) => e);
        assert.ok(missing instanceof ExecServerClientError);
        assert.equal(missing.kind, "server");
        assert.equal(missing.code, -32004);
        assert.equal(
          missing.message,
          "exec-server rejected request (-32004): No such file or directory (os error 2)",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`ExecServerClient [${transport}] runs a process and collects output and exit code`, async () => {
    await withClient(transport, async (client) => {
      const result = await client.run(["bash", "-c", "echo out; echo err >&2; exit 3"]);
      assert.equal(result.exitCode, 3);
      assert.equal(text(result.stdout), "out\n");
      assert.equal(text(result.stderr), "err\n");
      assert.equal(result.failure, null);
      const piped = await client.run(["cat"], { stdin: "piped input" });
      assert.equal(text(piped.stdout), "piped input");
      assert.equal(piped.exitCode, 0);
    });
  });

  Deno.test(`ExecServerClient [${transport}] process handle: events, write, closeStdin, read`, async () => {
    await withClient(transport, async (client) => {
      const handle = await client.startProcess({
        argv: ["cat"],
        pipeStdin: true,
        env: { PATH: "/usr/bin:/bin" },
      });
      assert.equal(await handle.write("line one\n"), "accepted");
      const events: ProcessEvent[] = [];
      const reader = handle.events.getReader();
      const first = await withTimeout(reader.read(), 10_000, "first output");
      events.push(first.value!);
      assert.equal(first.value?.type, "output");
      assert.equal(await handle.closeStdin(), "accepted");
      for (let i = 0; i < 100; i++) {
        const { value, done } = await withTimeout(reader.read(), 10_000, "events");
        if (done) break;
        events.push(value);
      }
      assert.deepEqual(events.map((e) => e.type), ["output", "exited", "closed"]);
      assert.deepEqual(events.flatMap((e) => "seq" in e ? [e.seq] : []), [1, 2, 3]);
      assert.deepEqual(await handle.wait(), { exitCode: 0, failure: null });
      const read = await handle.read({ afterSeq: 0 });
      assert.equal(read.closed, true);
      assert.equal(text(Uint8Array.fromBase64(read.chunks[0].chunk)), "line one\n");
    });
  });

  Deno.test(`ExecServerClient [${transport}] resize, signal and terminate`, async () => {
    await withClient(transport, async (client) => {
      const tty = await client.startProcess({
        argv: ["bash", "-c", "read -r _; stty size"],
        tty: true,
        rows: 24,
        cols: 80,
        env: { PATH: "/usr/bin:/bin" },
      });
      await tty.resize(33, 111);
      await tty.write("go\n");
      const ttyOut: Uint8Array[] = [];
      for await (const event of tty) if (event.type === "output") ttyOut.push(event.chunk);
      assert.match(ttyOut.map(text).join(""), /33 111/);

      const sleeper = await client.startProcess({ argv: ["sleep", "30"], env: { PATH: "/usr/bin:/bin" } });
      await sleeper.signal("interrupt");
      assert.equal((await withTimeout(sleeper.wait(), 10_000, "interrupted exit")).exitCode, 130);

      const victim = await client.startProcess({ argv: ["sleep", "30"], env: { PATH: "/usr/bin:/bin" } });
      assert.equal(await victim.terminate(), true);
      const outcome = await withTimeout(victim.wait(), 10_000, "terminated exit");
      assert.notEqual(outcome.exitCode, 0);
      assert.equal(await victim.terminate(), false);
    });
  });

  Deno.test(`ExecServerClient [${transport}] http/request buffered and streamed`, async () => {
    const body = "x".repeat(200_000);
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      if (new URL(request.url).pathname === "/stream") {
        const parts = ["alpha-", "beta-", "gamma"];
        return new Response(
          new ReadableStream({
            pull(controller) {
              const part = parts.shift();
              if (part === undefined) controller.close();
              else controller.enqueue(new TextEncoder().encode(part));
            },
          }),
        );
      }
      return new Response(body, { headers: { "x-test": "yes" } });
    });
    const url = `http://127.0.0.1:${http.addr.port}`;
    try {
      await withClient(transport, async (client) => {
        const buffered = await client.httpRequest({ method: "GET", url: `${url}/` });
        assert.equal(buffered.status, 200);
        assert.equal(text(Uint8Array.fromBase64(buffered.bodyBase64)), body);
        assert.ok(buffered.headers.some((h) => h.name === "x-test" && h.value === "yes"));
        const streamed = await client.httpStream({ method: "GET", url: `${url}/stream` });
        assert.equal(streamed.status, 200);
        assert.match(streamed.requestId, /^http-\d+$/);
        assert.equal(await new Response(streamed.body).text(), "alpha-beta-gamma");
        const big = await client.httpStream({ method: "GET", url: `${url}/` });
        assert.equal((await new Response(big.body).text()).length, body.length);
      });
    } finally {
      await http.shutdown();
    }
  });
}

Deno.test("ExecServerClient.startProcess inherits the server's environment by default, as run() does", async () => {
  await withClient("websocket", async (client) => {
    const collect = async (handle: Awaited<ReturnType<typeof client.startProcess>>) => {
      let out = "";
      for await (const event of handle) if (event.type === "output") out += text(event.chunk);
      return out;
    };
    const path = Deno.env.get("PATH")!;
    const inherited = await client.startProcess({
      argv: ["/bin/sh", "-c", 'echo "$PATH|$EXTRA"'],
      env: { EXTRA: "x" },
    });
    assert.equal(await collect(inherited), `${path}|x\n`);
    const exact = await client.startProcess({
      argv: ["/bin/sh", "-c", 'echo "${PATH:-unset}|$EXTRA"'],
      env: { EXTRA: "y" },
      envPolicy: null,
    });
    assert.match(await collect(exact), /\|y\n$/);
    assert.doesNotMatch(
      await collect(
        await client.startProcess({
          argv: ["/bin/sh", "-c", 'echo "$HOME"'],
          env: {},
          envPolicy: null,
        }),
      ),
      new RegExp(Deno.env.get("HOME") ?? "^$"),
    );
    const run = await client.run(["/bin/sh", "-c", 'echo "$PATH"']);
    assert.equal(text(run.stdout), `${path}\n`);
  });
});
