import assert from "node:assert/strict";
import { killMarkedProcesses, MARKER_VAR, newMarker, waitForMarkedCount } from "./support/process_count.ts";
import { outputText } from "./support/rpc_peer.ts";
import { TRANSPORTS, withPeer } from "./support/servers.ts";

for (const transport of TRANSPORTS) {
  for (const tty of [false, true]) {
    Deno.test(`[${transport}] process/terminate ends the whole tree, setsid escapees included (tty: ${tty})`, async () => {
      const marker = newMarker("terminate");
      try {
        await withPeer(transport, async (peer) => {
          // The shell stays alive (the case); one child escapes the group with setsid.
          await peer.call("process/start", {
            processId: "tree",
            argv: ["bash", "-c", "setsid sleep 1000 & sleep 1000 & echo started; wait"],
            cwd: "/tmp",
            env: { PATH: "/usr/bin:/bin", [MARKER_VAR]: marker },
            tty,
          });
          await peer.until(() => outputText(peer.processEvents("tree")).includes("started"), "started");
          await waitForMarkedCount(marker, (n) => n >= 3, "the shell and both sleeps");
          assert.deepEqual(await peer.call("process/terminate", { processId: "tree" }), { running: true });
          const events = await peer.waitClosed("tree");
          assert.equal(events.find((e) => e.method === "process/exited").params.exitCode, 143);
          await waitForMarkedCount(marker, (n) => n === 0, "no marked process left");
        }, { serverArgs: ["--terminate-grace", "1"], serverOptions: { terminateGraceMs: 1000 } });
      } finally {
        killMarkedProcesses(marker); // Only matters if the test failed.
      }
    });
  }
}
