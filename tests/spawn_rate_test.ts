import assert from "node:assert/strict";
import { SpawnRateLimiter } from "../src/server/spawn_rate.ts";
import { withPeer } from "./support/servers.ts";

Deno.test("SpawnRateLimiter allows a burst of the rate, then refuses with the flag to raise it", () => {
  const limiter = new SpawnRateLimiter(3);
  limiter.take();
  limiter.take();
  limiter.take();
  assert.throws(
    () => limiter.take(),
    /process start rate limit exceeded \(3 per second per connection; raise it with --max-spawn-rate\)/,
  );
});

Deno.test("process/start beyond --max-spawn-rate gets -32600 and the connection keeps serving", async () => {
  await withPeer("stdio", async (peer) => {
    const replies = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) =>
          peer.request("process/start", {
            processId: `r${i}`,
            argv: ["true"],
            cwd: "/tmp",
            env: {},
            tty: false,
          }),
      ),
    );
    const refused = replies.filter((r) => r.error);
    assert.ok(refused.length >= 3, `expected refusals, got ${JSON.stringify(replies)}`);
    for (const r of refused) {
      assert.equal(r.error!.code, -32600);
      assert.match(r.error!.message, /rate limit/);
    }
    assert.ok((await peer.call("environment/info")).shell);
  }, { serverArgs: ["--max-spawn-rate", "5"] });
});
