import assert from "node:assert/strict";
import { join } from "node:path";
import { outputText } from "./support/rpc_peer.ts";
import { TRANSPORTS, withPeer } from "./support/servers.ts";

function restricted(root: string, writable: string) {
  return {
    permissions: {
      type: "managed",
      file_system: {
        type: "restricted",
        entries: [
          { path: { type: "special", value: { kind: "root" } }, access: "read" },
          { path: { type: "path", path: writable }, access: "write" },
        ],
      },
      network: "restricted",
    },
    windowsSandboxLevel: "disabled",
    cwd: root,
  };
}

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] process/start with a restricted sandbox cannot write outside its writable root`, async () => {
    const root = await Deno.makeTempDir({ prefix: "sandbox-proc-" });
    const inside = join(root, "inside");
    const outside = join(root, "outside");
    await Deno.mkdir(inside);
    await Deno.mkdir(outside);
    try {
      await withPeer(transport, async (peer) => {
        await peer.call("process/start", {
          processId: "sb",
          argv: [
            "sh",
            "-c",
            `echo in > ${inside}/f && echo wrote-inside; echo out > ${outside}/f || echo refused-outside`,
          ],
          cwd: inside,
          env: { PATH: "/usr/bin:/bin" },
          tty: false,
          sandbox: restricted(root, inside),
        });
        const events = await peer.waitClosed("sb");
        const text = outputText(events);
        assert.match(text, /wrote-inside/);
        assert.match(text, /refused-outside/);
        assert.match(text, /Read-only file system/);
        assert.equal(await Deno.readTextFile(join(inside, "f")), "in\n");
        await assert.rejects(Deno.stat(join(outside, "f")), Deno.errors.NotFound);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("process/start with a restricted sandbox is refused when bubblewrap is missing", async () => {
  await withPeer("stdio", async (peer) => {
    const reply = await peer.request("process/start", {
      processId: "nobwrap",
      argv: ["true"],
      cwd: "/tmp",
      env: {},
      tty: false,
      sandbox: restricted("/tmp", "/tmp"),
    });
    assert.equal(reply.error?.code, -32603);
    assert.match(
      reply.error!.message,
      /bubblewrap \(bwrap\) is not installed on this host; refusing to run the command unsandboxed/,
    );
  }, { serverEnv: { PATH: "/nonexistent" } });
});

Deno.test({
  name: "a sandboxed process run by root has no capabilities: it cannot remount / or lift a deny mask",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "sandbox-root-" });
    const inside = join(root, "inside");
    const secret = join(root, "secret.txt");
    await Deno.mkdir(inside);
    await Deno.writeTextFile(secret, "top secret\n");
    const sandbox = restricted(root, inside);
    sandbox.permissions.file_system.entries.push({ path: { type: "path", path: secret }, access: "none" });
    try {
      await withPeer("websocket", async (peer) => {
        await peer.call("process/start", {
          processId: "caps",
          argv: [
            "sh",
            "-c",
            `grep CapEff /proc/self/status; ` +
            `mount -o remount,rw,bind / 2>/dev/null && echo REMOUNTED; ` +
            `umount ${secret} 2>/dev/null && echo UNMOUNTED; ` +
            `cat ${secret} 2>/dev/null | grep -q secret && echo READ-SECRET; ` +
            `echo x > ${root}/escape 2>/dev/null && echo WROTE-OUTSIDE; echo done`,
          ],
          cwd: inside,
          env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
          tty: false,
          sandbox,
        });
        const text = outputText(await peer.waitClosed("caps"));
        assert.match(text, /CapEff:\s+0000000000000000/);
        assert.doesNotMatch(text, /REMOUNTED|UNMOUNTED|READ-SECRET|WROTE-OUTSIDE/);
        assert.match(text, /done/);
      });
      await assert.rejects(Deno.stat(join(root, "escape")), Deno.errors.NotFound);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
