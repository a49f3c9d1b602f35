/**
 * Codex 0.171's `environmentInfo`: sent with `initialize` and by `environment/info` (the same object),
 * with every member the reference sends, paths as `file://` URIs, `userHomeDir` following `$HOME`, and
 * capabilities that advertise exactly what this server implements. And 0.171's handshake rule: an
 * `initialized` before `initialize` ends the connection.
 */
import assert from "node:assert/strict";
import { SERVER_CAPABILITIES } from "../src/server/environment_info.ts";
import { startReferenceStdio } from "./support/reference_stdio.ts";
import { connectWebSocket, startStdioServer, startWebSocketServer } from "./support/servers.ts";

Deno.test("initialize's environmentInfo has every member the reference sends and equals environment/info", async () => {
  const home = await Deno.makeTempDir({ prefix: "env-info-home-" });
  const server = startStdioServer([], { HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" });
  const reference = await startReferenceStdio();
  try {
    const ours = await server.peer!.call("initialize", { clientName: "info" });
    server.peer!.notify("initialized");
    const theirs = await reference.peer.call("initialize", { clientName: "info" });
    const info = ours.environmentInfo;
    assert.deepEqual(Object.keys(info).sort(), Object.keys(theirs.environmentInfo).sort());
    assert.deepEqual(
      Object.keys(info.capabilities).sort(),
      Object.keys(theirs.environmentInfo.capabilities).sort(),
    );
    assert.equal(info.userHomeDir, `file://${home}`);
    assert.equal(info.cwd, `file://${Deno.cwd()}`);
    assert.equal(info.platformOs, "linux");
    assert.match(info.providerId, /^sha256:[0-9a-f]{64}$/);
    assert.match(info.executorVersion, /^\d+\.\d+\.\d+/);
    assert.match(info.tempDir, /^file:\/\//);
    assert.deepEqual(info.capabilities, SERVER_CAPABILITIES);
    assert.deepEqual(await server.peer!.call("environment/info"), info);
  } finally {
    await reference.close();
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the advertised capabilities are the features this server answers", async () => {
  const server = startStdioServer();
  try {
    const peer = server.peer!;
    const { environmentInfo: { capabilities } } = await peer.call("initialize", { clientName: "caps" });
    peer.notify("initialized");
    // A capability is advertised exactly when its method exists (anything but -32601).
    const probes: Array<[string, string, unknown]> = [
      ["fsWatchMissing", "fs/watchMissing", { watchId: 1, missing: [] }],
      ["fileWriteStreaming", "fs/writeBlock", { handleId: "none", offset: 0, chunk: "" }],
      ["capabilityDiscoveryV2", "capabilities/discoverV2", { cwd: "file:///" }],
      ["capabilityDiscoverySandbox", "capabilityRoots/discoverV1", { roots: [] }],
      ["environmentConfigRead", "environmentConfig/read", {
        cwd: "file:///",
        configPaths: [["x"]],
        requirementsPaths: [],
      }],
    ];
    for (const [flag, method, params] of probes) {
      const reply = await peer.request(method, params);
      assert.equal(capabilities[flag], reply.error?.code !== -32601, `${flag} vs ${method}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("an initialized notification before initialize ends a stdio server (exit 0)", async () => {
  const server = startStdioServer();
  server.peer!.notify("initialized");
  void server.peer!.request("initialize", { clientName: "late" });
  const status = await server.child.status;
  assert.equal(status.code, 0, server.stderr());
  await server.peer!.closed;
  assert.deepEqual(server.peer!.replies, [], "initialize after the bad notification is not answered");
  await server.close();
});

Deno.test("an initialized notification before initialize closes that WebSocket connection only", async () => {
  const server = await startWebSocketServer();
  try {
    const bad = await connectWebSocket(server.url!);
    bad.notify("initialized");
    await bad.until(() => bad.isClosed, "the server to close the connection", 5_000);
    const good = await connectWebSocket(server.url!);
    await good.handshake();
    assert.ok((await good.call("environment/status")).status === "ready");
    good.close();
  } finally {
    await server.close();
  }
});
