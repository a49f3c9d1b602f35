import assert from "node:assert/strict";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import type { ProcessEvent } from "../src/client/process_event.ts";
import { cacheRoot, codexBinary, type CodexVersion } from "./codex/fetch_codex.ts";
import { text } from "./client_test_util.ts";
import { withTimeout } from "./support/waiting.ts";

/**
 * Our client against the reference `codex exec-server --listen stdio`: 0.140.0 (plain paths) and 0.171.0
 * (`file://` URIs only, `writeId` required, `environmentInfo` in `initialize`). 0.171's `CODEX_HOME` must
 * lie outside the temp dir.
 */
async function withReferenceClient(
  version: CodexVersion,
  fn: (client: ExecServerClient, dir: string) => Promise<void>,
) {
  const codex = await codexBinary(version);
  await Deno.mkdir(cacheRoot(), { recursive: true });
  const home = await Deno.makeTempDir({ dir: cacheRoot(), prefix: "ref-client-home-" });
  const dir = await Deno.makeTempDir({ prefix: "ref-client-work-" });
  const client = await ExecServerClient.connect({
    kind: "stdio",
    command: { program: codex, args: ["exec-server", "--listen", "stdio"], env: { CODEX_HOME: home } },
  });
  try {
    await fn(client, dir);
  } finally {
    await client.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
}

for (const version of ["0.140.0", "0.171.0"] as const) {
  Deno.test(`ExecServerClient interoperates with the Codex ${version} server for process calls`, async () => {
    await withReferenceClient(version, async (client) => {
      assert.match(client.sessionId, /^[0-9a-f-]{36}$/);
      assert.equal(typeof (await client.environmentInfo()).shell.name, "string");
      const result = await client.run(["bash", "-c", "echo out; echo err >&2; exit 3"]);
      assert.deepEqual([result.exitCode, text(result.stdout), text(result.stderr)], [3, "out\n", "err\n"]);

      const reader = await client.startProcess({
        argv: ["bash", "-c", "read -r line; echo got-$line; exit 4"],
        pipeStdin: true,
        envPolicy: { inherit: "core", ignoreDefaultExcludes: true, exclude: [], set: {}, includeOnly: [] },
      });
      assert.equal(await reader.write("ping\n"), "accepted");
      const events: ProcessEvent[] = [];
      for await (const event of reader) events.push(event);
      assert.equal(
        events.filter((e) => e.type === "output").map((e) => text((e as { chunk: Uint8Array }).chunk)).join(
          "",
        ),
        "got-ping\n",
      );
      assert.deepEqual(events.flatMap((e) => "seq" in e ? [e.seq] : []), events.flatMap((_, i) => [i + 1]));
      assert.deepEqual(await reader.wait(), { exitCode: 4, failure: null });
      const read = await reader.read({ afterSeq: 0 });
      assert.equal(read.closed, true);

      const sleeper = await client.startProcess({ argv: ["/bin/sleep", "30"] });
      await sleeper.signal("interrupt");
      assert.equal((await withTimeout(sleeper.wait(), 10_000, "interrupt")).exitCode, 130);
      const victim = await client.startProcess({ argv: ["/bin/sleep", "30"] });
      assert.equal(await victim.terminate(), true);
      await withTimeout(victim.wait(), 10_000, "terminate");
      // Extensions are refused by the reference as unknown methods.
      await assert.rejects(victim.resize(10, 10), { kind: "server", code: -32601 });
    });
  });

  Deno.test(`ExecServerClient interoperates with the Codex ${version} server for fs calls`, async () => {
    await withReferenceClient(version, async (client, dir) => {
      await client.createDirectory(`${dir}/a/b`);
      await client.writeFile(`file://${dir}/a/b/f.txt`, "reference");
      assert.equal(text(await client.readFile(`${dir}/a/b/f.txt`)), "reference");
      const meta = await client.getMetadata(`${dir}/a/b/f.txt`);
      assert.deepEqual([meta.isFile, meta.size], [true, 9]);
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
      assert.equal(await Deno.readTextFile(`${dir}/c/b/f.txt`), "reference");
      await client.remove(`${dir}/c`);
      await assert.rejects(client.getMetadata(`${dir}/c`), {
        kind: "server",
        code: -32004,
        message: "exec-server rejected request (-32004): No such file or directory (os error 2)",
      });
    });
  });
}
