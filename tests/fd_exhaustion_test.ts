/** A client holding more idle sockets than the server has descriptors cannot kill or starve the server. */
import assert from "node:assert/strict";
import { startUlimitServer } from "./support/ulimit_server.ts";
import { withTimeout } from "./support/waiting.ts";

/** Opens idle TCP connections (no HTTP request) until the server can accept no more, at most `max`. */
async function openIdle(port: number, max: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < max; i++) {
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    } catch {
      break;
    }
  }
  return conns;
}

/** True once a WebSocket client gets through (tries for about 10 s, while `stop()` is false). */
async function served(url: string, stop: () => boolean = () => false): Promise<boolean> {
  for (let attempt = 0; attempt < 50 && !stop(); attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        ws.close();
        resolve(true);
      };
      ws.onerror = () => resolve(false);
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 200)); // the listener rebinds once a second
  }
  return false;
}

Deno.test("idle sockets beyond the fd limit neither kill the server nor stop it from serving later", async () => {
  const server = await startUlimitServer("-n 200");
  const conns = await openIdle(server.port, 300);
  try {
    assert.ok(conns.length > 50, `opened ${conns.length} connections`);
    // An accept loop that died on EMFILE takes the server down with it: it must still be running.
    let exited = false;
    server.child.status.then(() => exited = true);
    for (const conn of conns.splice(0)) conn.close();
    // Once descriptors are free again, a normal client is served (the listener comes back on its port).
    const ok = await served(server.url, () => exited);
    assert.equal(exited, false, "the server is still running");
    assert.ok(ok, "a WebSocket client is served after the idle sockets closed");
  } finally {
    for (const conn of conns) conn.close();
    await server.close();
  }
});

Deno.test("idle sockets held beyond the fd limit are closed by the server, which serves a new client meanwhile", async () => {
  const server = await startUlimitServer("-n 200", ["--max-pending-handshakes", "20"]);
  const conns = await openIdle(server.port, 300);
  try {
    assert.ok(conns.length > 50, `opened ${conns.length} connections`);
    // We keep holding them: the server ends all but 20 of them itself (which 20 depends on which ones it
    // had accepted when its descriptors ran out; the rest were reset with its listener).
    let ended = 0;
    const enough = Promise.withResolvers<void>();
    for (const conn of conns) {
      conn.read(new Uint8Array(16)).then(() => {}, () => {}).then(() => {
        if (++ended >= conns.length - 20) enough.resolve();
      });
    }
    assert.ok(await served(server.url), "a WebSocket client is served while the idle sockets are still held");
    await withTimeout(enough.promise, 5_000, "the server to end every idle socket beyond 20");
  } finally {
    for (const conn of conns) conn.close();
    await server.close();
  }
});
