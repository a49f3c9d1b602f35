/**
 * Where cgroups v2 allow threaded groups, a spawn moves only the spawning thread into the new tree's group.
 * A whole-process move takes the kernel's global cgroup lock, and after a short idle spell that lock waits
 * for an RCU grace period: 6-30 ms with the event loop blocked, on every spawn after a pause (what an
 * agent does all day). What a test can see of that: the server's threads never leave its own group, and
 * each tree's group is a threaded one below it. Servers started inside another server's tree (the nested
 * case) contain their own trees the same way, and their keeper still ends them all on SIGKILL.
 */
import assert from "node:assert/strict";
import { cgroupContainmentAvailable, ownCgroupDir } from "./support/cgroup.ts";
import { killMarkedProcesses, MARKER_VAR, newMarker, waitForMarkedCount } from "./support/process_count.ts";
import { outputText, type RpcPeer } from "./support/rpc_peer.ts";
import { connectWebSocket, startInProcessServer, startWebSocketServer } from "./support/servers.ts";

const PATH = "/usr/bin:/bin";
const ignore = !cgroupContainmentAvailable() && Deno.env.get("CI") !== "true";

/** The cgroup v2 path (as in /proc/PID/cgroup) of a process or thread. */
function cgroupOf(procPath: string): string {
  const line = Deno.readTextFileSync(`${procPath}/cgroup`).split("\n").find((l) => l.startsWith("0::"));
  assert.ok(line, `${procPath} is in no cgroup v2 group`);
  return line.slice(3);
}

/** The cgroup2 mount point (the directory that /proc/PID/cgroup paths are relative to). */
function cgroupMount(): string {
  const own = ownCgroupDir();
  assert.ok(own, "no cgroup2 mount");
  const path = cgroupOf("/proc/self");
  return path === "/" ? own : own.slice(0, own.length - path.length);
}

/** Starts `sh` printing its pid, then sleeping; resolves with that pid. */
async function startSleeper(peer: RpcPeer, processId: string, marker: string): Promise<number> {
  await peer.call("process/start", {
    processId,
    argv: ["sh", "-c", "echo pid=$$; exec sleep 1000"],
    cwd: "/tmp",
    env: { PATH, [MARKER_VAR]: marker },
    tty: false,
  });
  await peer.until(() => /pid=\d+\n/.test(outputText(peer.processEvents(processId))), `${processId} pid`);
  return Number(/pid=(\d+)/.exec(outputText(peer.processEvents(processId)))![1]);
}

/** Asserts the server's threads all sit in its own group and `childPid` in a threaded group below it. */
function assertThreadMoves(serverPid: number, childPid: number): string {
  const serverGroup = cgroupOf(`/proc/${serverPid}`);
  assert.match(serverGroup, new RegExp(`/exec-server\\.${serverPid}$`));
  for (const task of Deno.readDirSync(`/proc/${serverPid}/task`)) {
    assert.equal(cgroupOf(`/proc/${serverPid}/task/${task.name}`), serverGroup, `thread ${task.name}`);
  }
  const childGroup = cgroupOf(`/proc/${childPid}`);
  assert.match(childGroup, new RegExp(`^${serverGroup}/p\\d+$`));
  const type = Deno.readTextFileSync(`${cgroupMount()}${childGroup}/cgroup.type`).trim();
  assert.equal(type, "threaded");
  return serverGroup;
}

Deno.test({
  name: "spawns move only the spawning thread: the server stays in its group, each tree's group is threaded",
  ignore,
  async fn() {
    const marker = newMarker("thread-moves");
    const server = await startWebSocketServer(["--terminate-grace", "0.3"]);
    try {
      const peer = await connectWebSocket(server.url!);
      await peer.handshake();
      const first = await startSleeper(peer, "a", marker);
      const second = await startSleeper(peer, "b", marker);
      assertThreadMoves(server.child.pid, first);
      assertThreadMoves(server.child.pid, second);
      assert.notEqual(cgroupOf(`/proc/${first}`), cgroupOf(`/proc/${second}`));
      await peer.call("process/terminate", { processId: "a" });
      await peer.waitClosed("a");
      await waitForMarkedCount(marker, (n) => n === 1, "only b left");
      peer.close();
    } finally {
      killMarkedProcesses(marker);
      await server.close();
    }
  },
});

Deno.test({
  name: "a server started inside another server's tree contains its own trees; SIGKILL of it leaves none",
  ignore,
  async fn() {
    const marker = newMarker("thread-nested");
    // The in-process server puts this test process into a threaded subtree of its own: what a server
    // started by a contained server finds.
    const outer = await startInProcessServer();
    let inner: Awaited<ReturnType<typeof startWebSocketServer>> | null = null;
    try {
      const outerPeer = await outer.connect();
      await outerPeer.handshake();
      await startSleeper(outerPeer, "outer", marker);
      assert.match(cgroupOf("/proc/self"), new RegExp(`/exec-server\\.${Deno.pid}$`));

      inner = await startWebSocketServer(["--terminate-grace", "0.3"]);
      const peer = await connectWebSocket(inner.url!);
      await peer.handshake();
      const escapee = `( setsid sh -c 'exec </dev/null >/dev/null 2>&1; exec sleep 1000' & )`;
      await peer.call("process/start", {
        processId: "tree",
        argv: ["sh", "-c", `${escapee}; ${escapee}; echo pid=$$; exec sleep 1000`],
        cwd: "/tmp",
        env: { PATH, [MARKER_VAR]: marker },
        tty: false,
      });
      await peer.until(() => outputText(peer.processEvents("tree")).includes("pid="), "tree started");
      const root = Number(/pid=(\d+)/.exec(outputText(peer.processEvents("tree")))![1]);
      const innerGroup = assertThreadMoves(inner.child.pid, root);
      assert.ok(innerGroup.startsWith(`${cgroupOf("/proc/self")}/`), `${innerGroup} is nested`);
      await waitForMarkedCount(marker, (n) => n === 4, "outer sleeper, the tree and its 2 escapees");

      inner.child.kill("SIGKILL");
      await inner.child.status;
      await waitForMarkedCount(marker, (n) => n === 1, "the inner keeper to end the inner tree", 5_000);
      peer.close();
    } finally {
      killMarkedProcesses(marker);
      await inner?.close();
      await outer.close();
    }
  },
});
