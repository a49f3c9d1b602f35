import assert from "node:assert/strict";
import { concurrentConnections, concurrentProcesses } from "./support/load.ts";
import { startInProcessServer } from "./support/servers.ts";

// The full-size version (500 processes, 50 connections, peak RSS) is bench/load.ts.

Deno.test("load: 100 concurrent processes in one session all complete with their own output and exit code", async () => {
  const server = await startInProcessServer({});
  try {
    const peer = await server.connect();
    await peer.handshake();
    const result = await concurrentProcesses(peer, 100, 0.3);
    assert.deepEqual(result.failures, []);
  } finally {
    await server.close();
  }
});

Deno.test("load: 10 concurrent connections each running 5 commands get exactly their own output", async () => {
  const server = await startInProcessServer({});
  try {
    const result = await concurrentConnections(server.url, 10, 5);
    assert.deepEqual(result.failures, []);
    assert.equal(result.processes, 50);
  } finally {
    await server.close();
  }
});
