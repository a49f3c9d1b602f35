/**
 * The check behind refusing sandboxed peers (src/sandbox/peer_check.ts), on real sockets: a connection
 * held anywhere under a tracked sandbox root is refused, one held elsewhere is allowed, one left without
 * an owner is refused (also right after the last sandbox ended), and nothing is read while no sandbox ran.
 * The roots here are plain child processes: what makes a sandbox for the check is being tracked.
 */
import assert from "node:assert/strict";
import { checkPeer, parseIp } from "../src/sandbox/peer_check.ts";
import {
  liveSandboxRoots,
  peerChecksArmed,
  resetSandboxedProcesses,
  trackSandboxedProcess,
} from "../src/sandbox/sandboxed_processes.ts";
import { waitUntil } from "./support/waiting.ts";

const linux = Deno.build.os === "linux";

Deno.test("sandbox/peer-check parses IPv4, IPv6 and IPv4-mapped peer addresses", () => {
  assert.deepEqual([...parseIp("127.0.0.1")!], [127, 0, 0, 1]);
  assert.deepEqual([...parseIp("::1")!], [...Array(15).fill(0), 1]);
  assert.deepEqual([...parseIp("[::1]")!], [...Array(15).fill(0), 1]);
  assert.deepEqual([...parseIp("::ffff:127.0.0.1")!], [...Array(10).fill(0), 255, 255, 127, 0, 0, 1]);
  assert.deepEqual([...parseIp("fe80::1%eth0")!], [0xfe, 0x80, ...Array(13).fill(0), 1]);
  assert.deepEqual(
    [...parseIp("2001:db8:0:0:1:0:0:1")!],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
  );
  for (const bad of ["", "localhost", "1.2.3.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3"]) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test({
  name: "sandbox/peer-check reads nothing and allows everything while no sandboxed process ran",
  ignore: !linux,
  fn: async () => {
    resetSandboxedProcesses();
    assert.equal(peerChecksArmed(), false);
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) {
      assert.equal((await checkPeer({ hostname: "127.0.0.1", port: 40000 + (i % 1000) }, 1)).allowed, true);
    }
    // 100k checks well under a millisecond each: no /proc access on this path.
    assert.ok(performance.now() - start < 500, `${performance.now() - start} ms for 100k checks`);
  },
});

/** A listener on 127.0.0.1 and the connections it accepted. */
/** The kernel's TCP state (hex, as /proc/net/tcp{,6} shows it) of our socket bound to `localPort`, if any. */
function tcpState(localPort: number, remotePort: number): string | null {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(table).split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(remotePort)}`)) return state;
    }
  }
  return null;
}

/** TCP_FIN_WAIT2 in /proc/net/tcp: our FIN was acknowledged, the peer has not closed yet. */
const FIN_WAIT2 = "05";

async function withListener(fn: (listener: Deno.TcpListener) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await fn(listener);
  } finally {
    listener.close();
  }
}

Deno.test({
  name: "sandbox/peer-check refuses a connection held under a sandbox root and allows one held elsewhere",
  ignore: !linux,
  fn: () =>
    withListener(async (listener) => {
      resetSandboxedProcesses();
      const port = listener.addr.port;
      // The holder is a grandchild of the tracked root (a shell running bash): the whole tree counts.
      const root = new Deno.Command("/bin/sh", {
        args: ["-c", `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; echo connected; sleep 30'; :`],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      trackSandboxedProcess(root.pid);
      try {
        const fromSandbox = await listener.accept();
        const verdict = await checkPeer(fromSandbox.remoteAddr as Deno.NetAddr, port);
        assert.equal(verdict.allowed, false);
        assert.match(
          (verdict as { reason: string }).reason,
          new RegExp(`sandbox started as process ${root.pid}`),
        );
        fromSandbox.close();

        // This process is no sandbox: its own connection passes while the sandbox lives.
        const client = await Deno.connect({ hostname: "127.0.0.1", port });
        const fromUs = await listener.accept();
        assert.deepEqual(await checkPeer(fromUs.remoteAddr as Deno.NetAddr, port), { allowed: true });
        // A peer that is not on this host's network (no such socket here) passes too.
        assert.deepEqual(await checkPeer({ hostname: "192.0.2.7", port: 50000 }, port), { allowed: true });
        client.close();
        fromUs.close();
      } finally {
        root.kill("SIGKILL");
        await root.status;
        await root.stdout.cancel();
      }
    }),
});

Deno.test({
  name: "sandbox/peer-check refuses a connection without an owner, also right after the last sandbox ended",
  ignore: !linux,
  fn: () =>
    withListener(async (listener) => {
      resetSandboxedProcesses();
      const port = listener.addr.port;
      const root = new Deno.Command("/bin/true").spawn();
      trackSandboxedProcess(root.pid);
      await root.status;
      assert.equal(liveSandboxRoots().size, 0, "the ended root is forgotten");
      assert.equal(peerChecksArmed(), true, "but checks stay armed for a while");

      // Write a request and close: the client end lingers in FIN_WAIT2 with no owner.
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const clientAddr = client.localAddr as Deno.NetAddr;
      await client.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      client.close();
      const orphan = await listener.accept();
      await waitUntil(
        () => tcpState(clientAddr.port, port) === FIN_WAIT2,
        "the closed client end to reach FIN_WAIT2",
      );
      const verdict = await checkPeer(clientAddr, port);
      assert.equal(verdict.allowed, false);
      assert.match((verdict as { reason: string }).reason, /no owner/);
      orphan.close();

      // A live client of ours still passes.
      const live = await Deno.connect({ hostname: "127.0.0.1", port });
      const accepted = await listener.accept();
      assert.deepEqual(await checkPeer(accepted.remoteAddr as Deno.NetAddr, port), { allowed: true });
      live.close();
      accepted.close();
      resetSandboxedProcesses();
    }),
});
