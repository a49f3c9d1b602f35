/** A client holding more idle sockets than the server has descriptors cannot kill the server. */
import assert from "node:assert/strict";
import { MAIN_TS } from "./support/servers.ts";
import { withTimeout } from "./support/waiting.ts";

Deno.test("idle sockets beyond the fd limit neither kill the server nor stop it from serving later", async () => {
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 200; exec '${Deno.execPath()}' run -A --quiet '${MAIN_TS}' --listen ws://127.0.0.1:0`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const conns: Deno.Conn[] = [];
  try {
    let url = "";
    while (!url.includes("\n")) {
      const { value, done } = await withTimeout(reader.read(), 30_000, "server URL");
      if (done) throw new Error("server exited before printing its URL");
      url += value;
    }
    url = url.trim();
    const port = Number(new URL(url).port);
    // Open idle TCP connections (no HTTP request) until the server can accept no more.
    for (let i = 0; i < 300; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        break;
      }
    }
    assert.ok(conns.length > 50, `opened ${conns.length} connections`);
    // An accept loop that died on EMFILE takes the server down with it: it must still be running.
    let exited = false;
    child.status.then(() => exited = true);
    for (const conn of conns.splice(0)) conn.close();
    // Once descriptors are free again, a normal client is served (the listener comes back on its port).
    let served = false;
    for (let attempt = 0; attempt < 50 && !served && !exited; attempt++) {
      served = await new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          ws.close();
          resolve(true);
        };
        ws.onerror = () => resolve(false);
      });
      if (!served) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(exited, false, "the server is still running");
    assert.ok(served, "a WebSocket client is served after the idle sockets closed");
  } finally {
    for (const conn of conns) conn.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await reader.cancel().catch(() => {});
    await stderr;
  }
});

Deno.test("idle sockets held beyond the fd limit are closed by the server, which serves a new client meanwhile", async () => {
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 200; exec '${Deno.execPath()}' run -A --quiet '${MAIN_TS}' --listen ws://127.0.0.1:0 ` +
      "--max-pending-handshakes 20",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const conns: Deno.Conn[] = [];
  try {
    let url = "";
    while (!url.includes("\n")) {
      const { value, done } = await withTimeout(reader.read(), 30_000, "server URL");
      if (done) throw new Error("server exited before printing its URL");
      url += value;
    }
    url = url.trim();
    const port = Number(new URL(url).port);
    for (let i = 0; i < 300; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        break;
      }
    }
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
    let served = false;
    for (let attempt = 0; attempt < 50 && !served; attempt++) {
      served = await new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          ws.close();
          resolve(true);
        };
        ws.onerror = () => resolve(false);
      });
      if (!served) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(served, "a WebSocket client is served while the idle sockets are still held");
    await withTimeout(enough.promise, 5_000, "the server to end every idle socket beyond 20");
  } finally {
    for (const conn of conns) conn.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await reader.cancel().catch(() => {});
    await stderr;
  }
});
