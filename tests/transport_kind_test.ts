/**
 * Transports say what carries their messages by `kind`; the server's parse errors name WebSocket
 * messages by that field, whatever the transport's description says.
 */
import assert from "node:assert/strict";
import { createMemoryTransportPair } from "../src/client/memory_transport.ts";
import { StreamTransport } from "../src/rpc/stream_transport.ts";
import { WebSocketTransport } from "../src/rpc/websocket_transport.ts";
import { ExecServer } from "../src/server/exec_server.ts";
import { RpcPeer } from "./support/rpc_peer.ts";

Deno.test("each transport reports its kind", () => {
  const [client, server] = createMemoryTransportPair("pair");
  assert.equal(client.kind, "memory");
  assert.equal(server.kind, "memory");
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  assert.equal(new StreamTransport(pipe.readable, pipe.writable, { description: "d" }).kind, "stdio");
  // Not started, so a stand-in socket is enough: the kind does not come from the description.
  const socket = { binaryType: "blob" } as unknown as WebSocket;
  assert.equal(new WebSocketTransport(socket, { description: "exec-server stdio" }).kind, "websocket");
});

Deno.test("a parse error over an in-memory transport names no websocket, even if its description does", async () => {
  const server = new ExecServer();
  const [client, serverSide] = createMemoryTransportPair("exec-server websocket lookalike");
  server.accept(serverSide);
  const peer = new RpcPeer(client);
  try {
    peer.sendRaw("garbage");
    // Answered after the parse error (messages are handled in order): then the error is there.
    await peer.request("environment/info");
    const reply = peer.replies[0];
    assert.equal(reply.error!.code, -32600);
    assert.match(
      reply.error!.message,
      /^failed to parse JSON-RPC message from exec-server websocket lookalike \(server side\): /,
    );
  } finally {
    client.close();
    await server.shutdown();
  }
});
