import assert from "node:assert/strict";
import { outputText } from "./support/rpc_peer.ts";
import { TRANSPORTS, withPeer } from "./support/servers.ts";

const ENV = { PATH: "/usr/bin:/bin" };

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] output a child wrote before exiting always precedes process/exited`, async () => {
    await withPeer(transport, async (peer) => {
      // Many short runs: the exit watcher races the pipe readers every time.
      for (let i = 0; i < 25; i++) {
        const id = `race-${i}`;
        await peer.call("process/start", {
          processId: id,
          argv: ["bash", "-c", "echo out-$RANDOM; echo err >&2; printf tail"],
          cwd: "/tmp",
          env: ENV,
          tty: false,
        });
        const events = await peer.waitClosed(id);
        const methods = events.map((e) => e.method);
        assert.deepEqual(methods.slice(-2), ["process/exited", "process/closed"], `${id}: ${methods}`);
        assert.deepEqual(
          events.map((e) => e.params.seq),
          events.map((_, k) => k + 1),
          "seqs are 1..N in order",
        );
        assert.match(outputText(events, "stdout"), /^out-\d+\ntail$/);
      }
    });
  });

  Deno.test(`[${transport}] late output from a descendant holding the pipes is retained and precedes closed`, async () => {
    await withPeer(transport, async (peer) => {
      // The parent exits at once; a background child keeps stdout open and writes after the exit.
      await peer.call("process/start", {
        processId: "late",
        // (Background jobs get /dev/null as stdin, so hand the child our stdin on fd 3.)
        argv: ["bash", "-c", "exec 3<&0; (read -t 20 line <&3; echo late-$line) & echo early; exit 0"],
        cwd: "/tmp",
        env: ENV,
        tty: false,
        pipeStdin: true,
      });
      await peer.until(() => peer.processEvents("late").some((e) => e.method === "process/exited"), "exited");
      assert.equal(
        peer.processEvents("late").some((e) => e.method === "process/closed"),
        false,
        "closed too early",
      );
      // Now let the background child write after its parent's exit.
      await peer.call("process/write", { processId: "late", chunk: btoa("now\n") });
      const events = await peer.waitClosed("late");
      const exited = events.find((e) => e.method === "process/exited");
      const late = events.find((e) =>
        e.method === "process/output" && atob(e.params.chunk).includes("late-now")
      );
      assert.ok(late, "late output was delivered");
      assert.ok(late.params.seq > exited.params.seq, "late output comes after the exit");
      assert.equal(events.at(-1).method, "process/closed");
      // And it is retained for process/read.
      const read = await peer.call("process/read", { processId: "late" });
      assert.match(
        read.chunks.map((c: { chunk: string }) => atob(c.chunk)).join(""),
        /early\n[\s\S]*late-now/,
      );
    });
  });

  Deno.test(`[${transport}] environment/info is answered while a 2 s long-poll is pending`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", {
        processId: "slow",
        argv: ["sleep", "30"],
        cwd: "/tmp",
        env: ENV,
        tty: false,
      });
      let longPollDone = false;
      const longPoll = peer.call("process/read", { processId: "slow", waitMs: 2000 }).then((r) => {
        longPollDone = true;
        return r;
      });
      const started = performance.now();
      const info = await peer.call("environment/info");
      const elapsed = performance.now() - started;
      assert.equal(longPollDone, false, "the quick request must not wait for the long-poll");
      assert.ok(typeof info.shell.path === "string");
      assert.ok(elapsed < 1000, `environment/info took ${elapsed.toFixed(1)} ms behind a long-poll`);
      const result = await longPoll;
      assert.deepEqual(result.chunks, []);
      await peer.call("process/terminate", { processId: "slow" });
    });
  });

  Deno.test(`[${transport}] a reader that keeps up loses nothing of a stream larger than the retention bound`, async () => {
    await withPeer(transport, async (peer) => {
      const total = 24 * 1024 * 1024;
      await peer.call("process/start", {
        processId: "big",
        argv: ["head", "-c", String(total), "/dev/zero"],
        cwd: "/tmp",
        env: ENV,
        tty: false,
      });
      // Codex-style paging: afterSeq = nextSeq - 1, until closed.
      let afterSeq = 0;
      let received = 0;
      for (let i = 0; i < 100_000; i++) {
        const page = await peer.call("process/read", { processId: "big", afterSeq, waitMs: 5000 });
        assert.equal(page.droppedBytes, 0);
        for (const c of page.chunks) received += Uint8Array.fromBase64(c.chunk).length;
        afterSeq = page.nextSeq - 1;
        if (page.closed) break;
      }
      assert.equal(received, total);
    }, { serverArgs: ["--retain-bytes", String(1024 * 1024)], serverOptions: { retainBytes: 1024 * 1024 } });
  });
}
