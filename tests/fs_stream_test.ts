/**
 * Our side of the stateful `fs/*` methods beyond what the differential test compares: plain paths
 * (0.140's dialect) on the same server, handles released with their connection, one
 * handle's concurrent blocks kept apart, a 200 MB file streamed through a server that never holds it,
 * and the missing-path watch ignoring unrelated events.
 */
import assert from "node:assert/strict";
import { MissingWatch } from "../src/fs/missing_watch.ts";
import type { RpcPeer } from "./support/rpc_peer.ts";
import { startInProcessServer, startStdioServer, withPeer } from "./support/servers.ts";
import { waitUntil, withTimeout } from "./support/waiting.ts";
import { withTempDir } from "./fs_test_util.ts";

/** This process's descriptors whose target satisfies `match` (from /proc/self/fd). */
function ownFds(match: (target: string) => boolean): number {
  let n = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (match(Deno.readLinkSync(`/proc/self/fd/${entry.name}`))) n++;
    } catch {
      // Closed while listing.
    }
  }
  return n;
}

Deno.test("fs/open, fs/walk and fs/watchMissing take plain paths (0.140 clients) as well as file URIs", () =>
  withTempDir((dir) =>
    withPeer("websocket", async (peer) => {
      await Deno.writeTextFile(`${dir}/a.txt`, "plain");
      assert.deepEqual(await peer.call("fs/open", { handleId: "p", path: `${dir}/a.txt` }), {
        handleId: "p",
      });
      assert.deepEqual(await peer.call("fs/readBlock", { handleId: "p", offset: 0, len: 10 }), {
        chunk: btoa("plain"),
        eof: true,
      });
      const walked = await peer.call("fs/walk", {
        path: dir,
        options: { maxDepth: 1, maxDirectories: 1, maxEntries: 10, followDirectorySymlinks: false },
      });
      assert.deepEqual(walked.entries, [{ path: `file://${dir}/a.txt`, kind: "file" }]);
      assert.deepEqual(await peer.call("fs/watchMissing", { watchId: 1, missing: [`${dir}/later`] }), {
        watching: true,
      });
      await Deno.writeTextFile(`${dir}/later`, "");
      await peer.until(() => peer.notifications.length === 1, "fs/missingChanged");
      assert.deepEqual(peer.notifications[0].params, { watchId: 1 });
    })
  ));

Deno.test("a connection's file handles are closed when it closes", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/held.txt`, "x");
    const server = await startInProcessServer();
    try {
      const isHeld = (target: string) => target === `${dir}/held.txt`;
      const peer = await server.connect();
      await peer.handshake();
      for (const handleId of ["r1", "r2"]) await peer.call("fs/open", { handleId, path: `${dir}/held.txt` });
      await peer.call("fs/open", { handleId: "w", path: `${dir}/held.txt`, mode: "replace" });
      assert.equal(ownFds(isHeld), 3);
      peer.close();
      await waitUntil(() => ownFds(isHeld) === 0, "the handles are closed");
    } finally {
      await server.close();
    }
  }));

Deno.test("concurrent fs/readBlock and fs/writeBlock on one handle each get their own offset", () =>
  withTempDir((dir) =>
    withPeer("websocket", async (peer: RpcPeer) => {
      const text = Array.from({ length: 40 }, (_, i) => String(i).padStart(4, "0")).join("");
      await Deno.writeTextFile(`${dir}/n.txt`, text);
      await peer.call("fs/open", { handleId: "r", path: `${dir}/n.txt` });
      const reads = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          peer.call("fs/readBlock", { handleId: "r", offset: i * 4, len: 4 })),
      );
      assert.deepEqual(
        reads.map((r) =>
          atob(r.chunk)
        ),
        Array.from({ length: 40 }, (_, i) => text.slice(i * 4, i * 4 + 4)),
      );
      await peer.call("fs/open", { handleId: "w", path: `${dir}/out.txt`, mode: "replace" });
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          peer.call("fs/writeBlock", {
            handleId: "w",
            offset: (39 - i) * 4,
            chunk: btoa(text.slice((39 - i) * 4, (40 - i) * 4)),
          })),
      );
      await peer.call("fs/close", { handleId: "w" });
      assert.equal(await Deno.readTextFile(`${dir}/out.txt`), text);
    })
  ));

/** Block `i` of the big file: 1 MiB of a pattern that differs per block. */
function block(i: number): Uint8Array {
  const bytes = new Uint8Array(1024 * 1024);
  for (let j = 0; j < bytes.length; j += 4096) bytes.fill((i * 7 + j / 4096) & 0xff, j, j + 4096);
  return bytes;
}

function peakRssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

Deno.test("a 200 MB file streams through fs/writeBlock and fs/readBlock without the server holding it", () =>
  withTempDir(async (dir) => {
    const server = startStdioServer();
    const peer = server.peer!;
    const blocks = 200;
    try {
      await peer.handshake();
      // Growth over the server's own baseline, not an absolute figure that moves with what the program loads.
      const baseline = peakRssMb(server.child.pid);
      await peer.call("fs/open", { handleId: "w", path: `file://${dir}/big.bin`, mode: "replace" });
      for (let i = 0; i < blocks; i++) {
        await peer.call("fs/writeBlock", {
          handleId: "w",
          offset: i * 1024 * 1024,
          chunk: block(i).toBase64(),
        });
      }
      await peer.call("fs/close", { handleId: "w" });
      assert.equal((await Deno.stat(`${dir}/big.bin`)).size, blocks * 1024 * 1024);
      await peer.call("fs/open", { handleId: "r", path: `file://${dir}/big.bin` });
      for (let i = 0; i <= blocks; i++) {
        const { chunk, eof } = await peer.call("fs/readBlock", {
          handleId: "r",
          offset: i * 1024 * 1024,
          len: 1024 * 1024,
        });
        if (i === blocks) {
          assert.deepEqual({ chunk, eof }, { chunk: "", eof: true });
        } else {
          assert.equal(eof, false);
          assert.ok(chunk === block(i).toBase64(), `block ${i} differs`);
        }
      }
      const grown = peakRssMb(server.child.pid) - baseline;
      // Holding the file would take its 200 MB and more (base64 copies); garbage not yet collected under
      // load stays below that.
      assert.ok(grown < 200, `server peak RSS grew by ${grown.toFixed(0)} MB: it held the 200 MB file`);
    } finally {
      await server.close();
    }
  }));

Deno.test("fs/watchMissing ignores events for other names and fires once for the watched one", () =>
  withTempDir(async (dir) => {
    const fired: number[] = [];
    let events = 0;
    const eventSeen = () => events;
    const watch = new MissingWatch({ onChanged: (id) => fired.push(id), onEvent: () => events++ });
    try {
      assert.equal(watch.watch(3, [`${dir}/wanted`], null), true);
      await Deno.writeTextFile(`${dir}/other`, "");
      await waitUntil(() => eventSeen() > 0, "the watcher saw the unrelated file");
      assert.deepEqual(fired, []);
      await Deno.writeTextFile(`${dir}/wanted`, "");
      await waitUntil(() => fired.length > 0, "the watch fired");
      await Deno.remove(`${dir}/wanted`);
      await Deno.writeTextFile(`${dir}/wanted`, "");
      // A new watch on the same directory sees these events too; the old one, stopped, reports nothing.
      assert.equal(watch.watch(4, [`${dir}/second`], null), true);
      await Deno.writeTextFile(`${dir}/second`, "");
      await waitUntil(() => fired.length > 1, "the second watch fired");
      assert.deepEqual(fired, [3, 4]);
      assert.equal(watch.watch(4, [`${dir}/third`], null), false, "ids must grow");
    } finally {
      watch.close();
    }
    assert.equal(watch.watch(9, [`${dir}/after-close`], null), false);
  }));

Deno.test("fs/readFile of a FIFO answers at once, directly and sandboxed paths alike", () =>
  withTempDir((dir) =>
    withPeer("websocket", async (peer) => {
      await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
      const reply = await withTimeout(
        peer.request("fs/readFile", { path: `${dir}/fifo` }),
        10_000,
        "fs/readFile",
      );
      assert.deepEqual(reply.error, { code: -32600, message: `path \`${dir}/fifo\` is not a file` });
    })
  ));
