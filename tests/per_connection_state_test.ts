/**
 * Per-connection state of handlers (`ctx.perConnection`): one instance per connection, made on first
 * use, disposed when that connection closes (even when another state's dispose throws).
 */
import assert from "node:assert/strict";
import * as z from "zod/mini";
import { createMemoryTransportPair } from "../src/client/memory_transport.ts";
import type { RequestType } from "../src/protocol/methods.ts";
import { ExecServer } from "../src/server/exec_server.ts";
import { PerConnection } from "../src/server/method_table.ts";
import { RpcPeer } from "./support/rpc_peer.ts";

function unitMethod(method: string): RequestType<null, number> {
  return {
    kind: "request",
    method,
    params: z.null(),
    result: z.number(),
    gate: "exec",
    paramsTypeName: null,
  };
}

Deno.test("per-connection state is made once per connection and disposed when that connection closes", async () => {
  const server = new ExecServer();
  const made: number[] = [];
  const disposed: number[] = [];
  let nextCounter = 1;
  const counters = new PerConnection(
    () => {
      const counter = { id: nextCounter++, calls: 0 };
      made.push(counter.id);
      return counter;
    },
    (counter) => disposed.push(counter.id),
  );
  const failing = new PerConnection(() => "x", () => {
    throw new Error("dispose failed on purpose");
  });
  server.methods.register(unitMethod("test/count"), (_params, ctx) => ++ctx.perConnection(counters).calls);
  server.methods.register(unitMethod("test/fail"), (_params, ctx) => ctx.perConnection(failing).length);

  const [clientA, serverA] = createMemoryTransportPair("a");
  const [clientB, serverB] = createMemoryTransportPair("b");
  const connectionA = server.accept(serverA);
  const connectionB = server.accept(serverB);
  const a = new RpcPeer(clientA);
  const b = new RpcPeer(clientB);
  try {
    await a.handshake();
    await b.handshake();
    assert.deepEqual(made, [], "nothing is made before a handler asks");
    // Made before the counter on `a`, so disposed first: its dispose throwing must not skip the counter's.
    assert.equal(await a.call("test/fail"), 1);
    assert.equal(await a.call("test/count"), 1);
    assert.equal(await a.call("test/count"), 2);
    assert.equal(await b.call("test/count"), 1);
    assert.deepEqual(made, [1, 2]);

    clientA.close("test closes a");
    await connectionA.closed;
    assert.deepEqual(disposed, [1]);
    assert.equal(await b.call("test/count"), 2, "the other connection keeps its state");

    clientB.close("test closes b");
    await connectionB.closed;
    assert.deepEqual(disposed, [1, 2]);
  } finally {
    await server.shutdown();
  }
});
