/**
 * `RpcConnection` against a scripted peer over an in-memory transport pair: ids, responses matched out of
 * order, errors, notifications, and the one disconnect that settles every pending call.
 */
import assert from "node:assert/strict";
import { ExecServerClientError } from "../src/client/client_error.ts";
import { createMemoryTransportPair } from "../src/client/memory_transport.ts";
import { RpcConnection } from "../src/client/rpc_connection.ts";
import type { MessageTransport } from "../src/rpc/transport.ts";
import { withTimeout } from "./support/waiting.ts";

interface Request {
  id: unknown;
  method: string;
  params: unknown;
}

/** The server end: records each incoming message; `waitForMessages(n)` resolves once `n` have arrived. */
class ScriptedPeer {
  readonly received: Request[] = [];
  readonly closed = Promise.withResolvers<string>();
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(readonly transport: MessageTransport) {
    transport.start({
      onMessage: (text) => {
        this.received.push(JSON.parse(text));
        const ready = this.#waiters.filter((w) => this.received.length >= w.count);
        this.#waiters = this.#waiters.filter((w) => this.received.length < w.count);
        for (const waiter of ready) waiter.resolve();
      },
      onFramingError: () => {},
      onClose: (reason) => this.closed.resolve(reason),
    });
  }

  waitForMessages(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ count, resolve });
    return withTimeout(promise, 5_000, `${count} messages at the peer`);
  }

  send(message: unknown): void {
    this.transport.send(JSON.stringify(message));
  }
}

function connect() {
  const [clientSide, serverSide] = createMemoryTransportPair("test peer");
  const notifications: Array<[string, unknown]> = [];
  const disconnects: ExecServerClientError[] = [];
  const connection = new RpcConnection(clientSide, {
    onNotification: (method, params) => notifications.push([method, params]),
    onDisconnect: (error) => disconnects.push(error),
  });
  return { connection, peer: new ScriptedPeer(serverSide), notifications, disconnects };
}

Deno.test("RpcConnection numbers requests from 1 and matches responses that arrive out of order", async () => {
  const { connection, peer } = connect();
  const calls = ["a", "b", "c"].map((method) => connection.request(method, { name: method }));
  await peer.waitForMessages(3);
  assert.deepEqual(peer.received.map((r) => [r.id, r.method]), [[1, "a"], [2, "b"], [3, "c"]]);
  for (const id of [3, 1, 2]) peer.send({ jsonrpc: "2.0", id, result: { answer: id } });
  assert.deepEqual(await Promise.all(calls), [{ answer: 1 }, { answer: 2 }, { answer: 3 }]);
  connection.close();
});

Deno.test("RpcConnection rejects only the call whose response is an error, with its code and message", async () => {
  const { connection, peer } = connect();
  const failing = connection.request("bad", null);
  const fine = connection.request("good", null);
  await peer.waitForMessages(2);
  peer.send({ jsonrpc: "2.0", id: 1, error: { code: -32602, message: "nope" } });
  peer.send({ jsonrpc: "2.0", id: 2, result: "ok" });
  await assert.rejects(failing, (error: unknown) => {
    assert.ok(error instanceof ExecServerClientError);
    assert.equal(error.kind, "server");
    assert.equal(error.code, -32602);
    assert.equal(error.message, "exec-server rejected request (-32602): nope");
    return true;
  });
  assert.equal(await fine, "ok");
  assert.equal(connection.failure, null, "an error response does not end the connection");
  connection.close();
});

Deno.test("RpcConnection ignores responses to ids it never sent and keeps working", async () => {
  const { connection, peer, disconnects } = connect();
  const call = connection.request("m", null);
  await peer.waitForMessages(1);
  peer.send({ jsonrpc: "2.0", id: 99, result: "stray" });
  peer.send({ jsonrpc: "2.0", id: "1", result: "string id" });
  peer.send({ jsonrpc: "2.0", id: 1, result: "mine" });
  assert.equal(await call, "mine");
  assert.deepEqual(disconnects, []);
  connection.close();
});

Deno.test("RpcConnection hands notifications to its owner in arrival order, between responses", async () => {
  const { connection, peer, notifications } = connect();
  const call = connection.request("m", null);
  await peer.waitForMessages(1);
  peer.send({ jsonrpc: "2.0", method: "first", params: { n: 1 } });
  peer.send({ jsonrpc: "2.0", method: "second" });
  peer.send({ jsonrpc: "2.0", id: 1, result: null });
  await call;
  assert.deepEqual(notifications.map(([method]) => method), ["first", "second"]);
  assert.deepEqual(notifications[0][1], { n: 1 });
  connection.notify("initialized", {});
  await peer.waitForMessages(2);
  assert.deepEqual(peer.received[1], { jsonrpc: "2.0", method: "initialized", params: {} });
  connection.close();
});

Deno.test("RpcConnection fails every pending call once when the peer goes, reports one disconnect, and fails new calls fast", async () => {
  const { connection, peer, disconnects } = connect();
  const calls = [connection.request("a", null), connection.request("b", null)];
  await peer.waitForMessages(2);
  peer.transport.close("peer gone");
  const results = await Promise.allSettled(calls);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.equal((result.reason as ExecServerClientError).kind, "disconnected");
  }
  assert.equal(disconnects.length, 1);
  assert.equal(connection.failure, disconnects[0]);
  await assert.rejects(connection.request("later", null), (error) => error === disconnects[0]);
  connection.close();
  assert.equal(disconnects.length, 1, "close after a disconnect reports nothing more");
});

Deno.test("RpcConnection ends the connection on a request from the server (Codex servers send none)", async () => {
  const { connection, peer, disconnects } = connect();
  const call = connection.request("m", null);
  await peer.waitForMessages(1);
  peer.send({ jsonrpc: "2.0", id: 5, method: "client/doSomething", params: {} });
  await assert.rejects(call, /unexpected JSON-RPC request from remote server: client\/doSomething/);
  assert.equal(disconnects[0].kind, "protocol");
  assert.equal(await peer.closed.promise, "end of input", "the transport was closed");
});

Deno.test("RpcConnection ends the connection on a message that is not JSON-RPC", async () => {
  const { connection, peer, disconnects } = connect();
  const call = connection.request("m", null);
  await peer.waitForMessages(1);
  peer.transport.send("this is not json");
  await assert.rejects(call, /malformed message from exec-server/);
  assert.equal(disconnects.length, 1);
  assert.equal(disconnects[0].kind, "disconnected");
});

Deno.test("RpcConnection.close fails pending calls with `exec-server transport closed`", async () => {
  const { connection, peer } = connect();
  const call = connection.request("m", null);
  await peer.waitForMessages(1);
  connection.close();
  await assert.rejects(call, (error: unknown) => (error as ExecServerClientError).kind === "closed");
});
