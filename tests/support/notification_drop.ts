/**
 * The stall-and-drop scenario of `ackMode: "notification"`: a fast producer, a client whose link stops
 * carrying data (the kernel buffers between fill up and the server's queue backs up), then a drop, a
 * resume and `process/read` from the last seq the client had. Shared by the suite (small) and
 * `bench/soak.ts` (47.7 MB, many rounds).
 *
 * @module
 */
import type { ServerConnection } from "../../src/server/connection.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import { b64text, type Json } from "./rpc_peer.ts";
import { connectWebSocket, startInProcessServer } from "./servers.ts";
import { startTcpProxy } from "./tcp_proxy.ts";
import { waitUntil } from "./waiting.ts";

/** What one round saw. */
export interface NotificationDropResult {
  total: number;
  /** Bytes the client got: by notification before the drop, then by `process/read`. */
  received: number;
  /** `droppedBytes` the resumed reads reported. */
  dropped: number;
}

/** One round: `total` bytes of output, the stall after `stallAfter` bytes, then the drop and resume. */
export async function runNotificationDrop(
  total: number,
  stallAfter: number,
  serverOptions: Partial<ServerOptions> = {},
): Promise<NotificationDropResult> {
  const server = await startInProcessServer({
    retainBytes: 1024 * 1024,
    sessionTtlMs: 10_000,
    ...serverOptions,
  });
  const proxy = startTcpProxy(server.url);
  try {
    const first = await connectWebSocket(proxy.url);
    const sessionId = await first.handshake();
    await first.call("process/start", {
      processId: "fast",
      argv: ["head", "-c", String(total), "/dev/zero"],
      cwd: "/tmp",
      env: {},
      tty: false,
      ackMode: "notification",
    });
    let received = 0;
    let lastSeq = 0;
    const consume = () => {
      for (const n of first.processEvents("fast")) {
        if (n.method !== "process/output" || n.params.seq !== lastSeq + 1) continue;
        received += Uint8Array.fromBase64(n.params.chunk).length;
        lastSeq = n.params.seq;
      }
    };
    await first.until(() => (consume(), received >= stallAfter), `the first ${stallAfter} bytes`, 20_000);
    proxy.pauseFromServer();
    // Server-side state, polled: the paused link delivers no message that could wake the peer.
    const owner = () => server.server.session(sessionId)?.owner as ServerConnection | null;
    await waitUntil(
      () =>
        (owner()?.transport.bufferedBytes ?? 0) > 1024 * 1024 || (owner()?.state ?? "closed") === "closed",
      "the server's queue to back up",
      20_000,
    );
    proxy.kill();
    await first.closed;
    consume();
    const resumed = await connectWebSocket(server.url);
    await resumed.handshake(sessionId);
    let afterSeq = lastSeq;
    let dropped = 0;
    for (let page = 0; page < 100_000; page++) {
      const read: Json = await resumed.call("process/read", { processId: "fast", afterSeq, waitMs: 5_000 });
      dropped += read.droppedBytes ?? 0;
      for (const chunk of read.chunks) received += b64text(chunk.chunk).length;
      afterSeq = read.chunks.at(-1)?.seq ?? afterSeq;
      if (read.closed && !read.chunks.length) break;
    }
    resumed.close();
    return { total, received, dropped };
  } finally {
    proxy.close();
    await server.close();
  }
}
