import assert from "node:assert/strict";
import { outputText, type ReplyError, textb64 } from "./support/rpc_peer.ts";
import { TRANSPORTS, withPeer } from "./support/servers.ts";
import { bashStart, TEST_PATH } from "./support/process_start.ts";

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] process/start streams output, exit and close with contiguous seqs`, async () => {
    await withPeer(transport, async (peer) => {
      assert.deepEqual(await peer.call("process/start", bashStart("p1", "echo hi; echo err >&2; exit 3")), {
        processId: "p1",
        sandboxType: "none",
      });
      const events = await peer.waitClosed("p1");
      assert.deepEqual(events.map((e) => e.params.seq), [1, 2, 3, 4]);
      assert.equal(events.at(-2).method, "process/exited");
      assert.equal(events.at(-2).params.exitCode, 3);
      assert.equal(events.at(-1).method, "process/closed");
      assert.equal(outputText(events, "stdout"), "hi\n");
      assert.equal(outputText(events, "stderr"), "err\n");
    });
  });

  Deno.test(`[${transport}] process/read pages retained output and reports exit and close`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("r", "printf a; sleep 0.05; printf b; exit 7"));
      await peer.waitClosed("r");
      const all = await peer.call("process/read", { processId: "r" });
      assert.equal(all.exited, true);
      assert.equal(all.exitCode, 7);
      assert.equal(all.closed, true);
      assert.equal(all.failure, null);
      assert.equal(all.chunks.map((c: { chunk: string }) => atob(c.chunk)).join(""), "ab");
      // Closed, and the page holds the last chunk: nextSeq points past `closed` (as Codex 0.171).
      assert.equal(all.nextSeq, all.chunks.at(-1).seq + 3);
      assert.equal(all.sandboxDenied, false);
      // maxBytes never splits chunks but always returns the first one; a page cut short resumes at its
      // next chunk, even after close.
      const first = await peer.call("process/read", { processId: "r", maxBytes: 0 });
      assert.equal(first.chunks.length, 1);
      assert.equal(first.nextSeq, first.chunks[0].seq + 1);
      // Past everything: no chunks, nextSeq is the next unassigned seq.
      const end = await peer.call("process/read", { processId: "r", afterSeq: 100 });
      assert.deepEqual(end.chunks, []);
      assert.equal(end.nextSeq, 5);
    });
  });

  Deno.test(`[${transport}] process/read long-poll wakes on output and on exit`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("lp", "read x; echo got-$x; exit 2", { pipeStdin: true }));
      const pending = peer.call("process/read", { processId: "lp", waitMs: 20_000 });
      await peer.call("process/write", { processId: "lp", chunk: textb64("one\n") });
      const first = await pending;
      assert.equal(atob(first.chunks[0].chunk), "got-one\n");
      const afterSeq = first.nextSeq - 1;
      const exit = await peer.call("process/read", { processId: "lp", afterSeq, waitMs: 20_000 });
      assert.equal(exit.exited, true);
      assert.equal(exit.exitCode, 2);
    });
  });

  Deno.test(`[${transport}] process/write statuses: accepted, stdinClosed, unknownProcess`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("w", "cat", { pipeStdin: true }));
      assert.deepEqual(await peer.call("process/write", { processId: "w", chunk: textb64("hello\n") }), {
        status: "accepted",
      });
      await peer.until(() => outputText(peer.processEvents("w")) === "hello\n", "echoed stdin");
      assert.deepEqual(await peer.call("process/write", { processId: "w", chunk: "" }), {
        status: "accepted",
      });
      await peer.call("process/start", bashStart("nostdin", "sleep 5"));
      assert.deepEqual(await peer.call("process/write", { processId: "nostdin", chunk: textb64("x") }), {
        status: "stdinClosed",
      });
      assert.deepEqual(await peer.call("process/write", { processId: "ghost", chunk: textb64("x") }), {
        status: "unknownProcess",
      });
      await assert.rejects(
        peer.call("process/write", { processId: "w", chunk: "!!!!" }),
        (e: ReplyError) => e.code === -32602 && /Invalid symbol 33, offset 0\./.test(e.message),
      );
      await peer.call("process/terminate", { processId: "w" });
      await peer.call("process/terminate", { processId: "nostdin" });
      await assert.rejects(
        peer.call("process/write", { processId: "w", chunk: textb64("x") }),
        (e: ReplyError) => e.code === -32603 && e.message.includes("failed to write to process stdin"),
      );
    });
  });

  Deno.test(`[${transport}] process/closeStdin gives EOF to a pipe process`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("wc", "wc -c", { pipeStdin: true }));
      await peer.call("process/write", { processId: "wc", chunk: textb64("12345") });
      assert.deepEqual(await peer.call("process/closeStdin", { processId: "wc" }), { status: "accepted" });
      const events = await peer.waitClosed("wc");
      assert.equal(outputText(events).trim(), "5");
      assert.equal(events.find((e) => e.method === "process/exited").params.exitCode, 0);
    });
  });

  Deno.test(`[${transport}] process/terminate reports running and a true exit code`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("t", "exec sleep 100"));
      assert.deepEqual(await peer.call("process/terminate", { processId: "t" }), { running: true });
      const events = await peer.waitClosed("t");
      assert.equal(events.find((e) => e.method === "process/exited").params.exitCode, 143);
      assert.deepEqual(await peer.call("process/terminate", { processId: "t" }), { running: false });
      assert.deepEqual(await peer.call("process/terminate", { processId: "never" }), { running: false });
    });
  });

  Deno.test(`[${transport}] process/terminate escalates to SIGKILL after the grace`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call("process/start", bashStart("stubborn", "trap '' TERM; echo ready; sleep 100 & wait"));
      await peer.until(() => outputText(peer.processEvents("stubborn")).includes("ready"), "ready");
      await peer.call("process/terminate", { processId: "stubborn" });
      const events = await peer.waitClosed("stubborn");
      assert.equal(events.find((e) => e.method === "process/exited").params.exitCode, 137);
    }, { serverArgs: ["--terminate-grace", "0.3"], serverOptions: { terminateGraceMs: 300 } });
  });

  Deno.test(`[${transport}] process/signal interrupts; unknown signals are -32602 naming the allowed ones`, async () => {
    await withPeer(transport, async (peer) => {
      await peer.call(
        "process/start",
        bashStart("s", "trap 'echo caught; exit 9' INT; echo ready; while :; do sleep 0.05; done"),
      );
      await peer.until(() => outputText(peer.processEvents("s")).includes("ready"), "ready");
      assert.deepEqual(await peer.call("process/signal", { processId: "s", signal: "interrupt" }), {});
      const events = await peer.waitClosed("s");
      assert.match(outputText(events), /caught/);
      assert.equal(events.find((e) => e.method === "process/exited").params.exitCode, 9);
      assert.deepEqual(await peer.call("process/signal", { processId: "s", signal: "interrupt" }), {});
      assert.deepEqual(await peer.call("process/signal", { processId: "ghost", signal: "kill" }), {});
      await assert.rejects(
        peer.call("process/signal", { processId: "s", signal: "explode" }),
        (e: ReplyError) =>
          e.code === -32602 && /unknown variant `explode`, expected one of `interrupt`/.test(e.message),
      );
    });
  });

  Deno.test(`[${transport}] process/start errors follow the reference table`, async () => {
    await withPeer(transport, async (peer) => {
      const cases: [Record<string, unknown>, number, RegExp][] = [
        [bashStart("e1", "true", { argv: [] }), -32602, /^argv must not be empty$/],
        [
          { ...bashStart("e2", "true"), argv: ["definitely-not-a-program-xyz"] },
          -32603,
          /No such file or directory \(os error 2\)/,
        ],
        [
          { ...bashStart("e3", "true"), cwd: "/nonexistent-dir-xyz" },
          -32603,
          /No such file or directory \(os error 2\)/,
        ],
        [{ ...bashStart("e4", "true"), argv: [""] }, -32603, /missing program for pipe spawn/],
        [{ ...bashStart("e5", "true"), argv: ["/etc/passwd"] }, -32603, /Permission denied \(os error 13\)/],
        [{ processId: "e6", argv: ["true"], cwd: "/tmp", tty: false }, -32602, /missing field `env`/],
        [
          { processId: 5, argv: ["true"], cwd: "/tmp", env: {}, tty: false },
          -32602,
          /invalid type: integer `5`, expected a string/,
        ],
        [{ ...bashStart("e8", "true"), tty: null }, -32602, /tty/],
        [{ ...bashStart("e9", "true"), cwd: "relative\u0000" }, -32603, /.+/],
      ];
      for (const [params, code, message] of cases) {
        const reply = await peer.request("process/start", params);
        assert.equal(reply.error?.code, code, `${JSON.stringify(params)} -> ${JSON.stringify(reply)}`);
        assert.match(reply.error!.message, message);
      }
      await peer.call("process/start", bashStart("dup", "sleep 5"));
      await assert.rejects(
        peer.call("process/start", bashStart("dup", "true")),
        (e: ReplyError) => e.code === -32600 && e.message === "process dup already exists",
      );
      // A failed spawn frees the id.
      assert.deepEqual(await peer.call("process/start", bashStart("e2", "true")), {
        processId: "e2",
        sandboxType: "none",
      });
      await peer.call("process/terminate", { processId: "dup" });
    });
  });

  Deno.test(`[${transport}] process/read of an unknown process is -32600`, async () => {
    await withPeer(transport, async (peer) => {
      await assert.rejects(
        peer.call("process/read", { processId: "nope" }),
        (e: ReplyError) => e.code === -32600 && e.message === "unknown process id nope",
      );
      await assert.rejects(
        peer.call("process/read", { processId: "x", afterSeq: -1 }),
        (e: ReplyError) => e.code === -32602 && /invalid number/.test(e.message),
      );
    });
  });

  Deno.test(`[${transport}] cwd accepts a file:// URI and arg0 changes the child's argv[0]`, async () => {
    await withPeer(transport, async (peer) => {
      const dir = await Deno.makeTempDir({ prefix: "exec sp ace" });
      try {
        const uri = `file://${dir.replaceAll(" ", "%20")}`;
        await peer.call("process/start", {
          processId: "cwd",
          argv: ["bash", "-c", 'pwd; echo "$0"', "ignored"],
          cwd: uri,
          env: { PATH: TEST_PATH },
          tty: false,
          arg0: "custom-zero",
        });
        const events = await peer.waitClosed("cwd");
        const [pwd, zero] = outputText(events).trim().split("\n");
        assert.equal(pwd, dir);
        assert.equal(zero, "ignored");
        await peer.call("process/start", {
          processId: "zero",
          argv: ["/bin/sh", "-c", "cat /proc/$$/cmdline | tr '\\0' ' '"],
          cwd: "/tmp",
          env: { PATH: TEST_PATH },
          tty: false,
          arg0: "my-shell-name",
        });
        assert.match(outputText(await peer.waitClosed("zero")), /^my-shell-name -c/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
}
