/**
 * The web console with hundreds of processes printing fast, in headless Chromium against a real server
 * subprocess: every process is listed, the console's WebSocket gets coalesced updates (about ten a second
 * at most, not one per chunk), the page stays usable (a process's output followed live in the terminal
 * view and as text, Terminate from the page), and the agent's own connection keeps being answered while
 * the console is open and the output floods.
 */
import assert from "node:assert/strict";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import type { ProcessHandle } from "../src/client/process_handle.ts";
import { requires } from "./support/requirements.ts";
import { adminTokenDir, consumeEvents, launchChromium } from "./support/console_fixture.ts";
import { startWebSocketServer } from "./support/servers.ts";
import { TEST_PATH } from "./support/process_start.ts";
import { withTimeout } from "./support/waiting.ts";

const PROCESSES = 300;
/** Lines each of them prints at once before it waits on its stdin. */
const BURST_LINES = 300;
/** The flood's bound: it is terminated from the page long before, but never runs unbounded. */
const FLOOD_LINES = 3_000_000;
const STEP_MS = 20_000;

/** What process `k`'s burst prints, in bytes. */
function burstBytes(k: number): number {
  let bytes = 0;
  for (let i = 0; i < BURST_LINES; i++) bytes += `p${k} line ${i}\n`.length;
  return bytes;
}

Deno.test({
  name: "the console lists 300 processes printing fast, stays usable, and never holds up the agent",
  ...requires("chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { dir, adminToken, adminTokenFile } = await adminTokenDir("exec-server-console-scale-");
    const server = await startWebSocketServer(["--admin-token-file", adminTokenFile]);
    const base = server.url!.replace(/^ws:/, "http:");
    const client = await ExecServerClient.connect({ kind: "websocket", url: server.url! }, {
      clientName: "scale-agent",
    });
    const browser = await launchChromium();
    const env = { PATH: TEST_PATH, TERM: "xterm-256color" };
    try {
      const bursts: ProcessHandle[] = [];
      for (let first = 0; first < PROCESSES; first += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, PROCESSES - first) }, (_, k) =>
            client.startProcess({
              processId: `p${first + k}`,
              argv: [
                "sh",
                "-c",
                `i=0; while [ $i -lt ${BURST_LINES} ]; do echo "p${first + k} line $i"; i=$((i+1)); done; ` +
                "exec cat",
              ],
              cwd: "/tmp",
              env,
              pipeStdin: true,
            })),
        );
        batch.forEach(consumeEvents);
        bursts.push(...batch);
      }
      const flood = await client.startProcess({
        processId: "flood",
        argv: [
          "sh",
          "-c",
          `i=0; while [ $i -lt ${FLOOD_LINES} ]; do printf '\\033[3%dmflood %d\\033[0m\\n' $((i % 8)) $i; ` +
          "i=$((i+1)); done",
        ],
        cwd: "/tmp",
        env,
        tty: true,
      });
      consumeEvents(flood);

      const page = await browser.newPage();
      page.setDefaultTimeout(STEP_MS);
      const frames: { at: number; bytes: number }[] = [];
      page.on("websocket", (socket) => {
        if (!socket.url().endsWith("/console/events")) return;
        socket.on("framereceived", ({ payload }) => frames.push({ at: Date.now(), bytes: payload.length }));
      });
      await page.goto(`${base}/console`);
      await page.fill("#token", adminToken);
      await page.click("#login");
      const rows = page.locator("tr.process");
      await rows.nth(PROCESSES).waitFor({ state: "attached" });
      const listed = await rows.evaluateAll((list) =>
        list.map((row) => (row as unknown as { dataset: { processId: string } }).dataset.processId)
      );
      assert.deepEqual(
        listed.sort(),
        [...Array.from({ length: PROCESSES }, (_, i) => `p${i}`), "flood"].sort(),
      );
      const opened = Date.now();

      // Selecting another process ends the follow of the one before: idle long-polls (up to 20 s each) do
      // not use up the browser's six connections to the server.
      for (let k = 0; k < 8; k++) {
        await page.click(`tr.process[data-process-id="p${k}"]`);
        await page.locator("#output", { hasText: `p${k} line ${BURST_LINES - 1}` }).waitFor({
          timeout: 10_000,
        });
      }

      // A process as text, live, while the flood goes on.
      await page.click('tr.process[data-process-id="p150"]');
      await page.locator("#output", { hasText: `p150 line ${BURST_LINES - 1}` }).waitFor();
      await bursts[150].write("typed-while-flooding\n");
      await page.locator("#output", { hasText: "typed-while-flooding" }).waitFor();

      // The flood in the terminal view.
      await page.click('tr.process[data-process-id="flood"]');
      const screen = page.locator("#terminal .xterm-rows");
      await screen.filter({ hasText: /flood \d+/ }).waitFor();

      // Every process prints again, a few rounds, while the flood goes on and the agent is answered
      // meanwhile: a request, and a process started, read and ended, each round.
      const expected = Array.from({ length: PROCESSES }, (_, k) => burstBytes(k));
      expected[150] += "typed-while-flooding\n".length;
      for (let round = 0; round < 3; round++) {
        const started = Date.now();
        await Promise.all(bursts.map((handle, k) => {
          const line = `round ${round} of p${k}\n`;
          expected[k] += line.length;
          return handle.write(line);
        }));
        await withTimeout(client.environmentInfo(), STEP_MS, "environment/info while the console floods");
        const pong = await withTimeout(client.run(["echo", `pong${round}`], { env }), STEP_MS, "a run");
        assert.equal(new TextDecoder().decode(pong.stdout), `pong${round}\n`);
        console.log(`agent round trip ${round}: ${Date.now() - started} ms`);
      }
      // The table caught up with every row (deltas carry only what changed, and nothing is lost).
      const caughtUp = expected.map((bytes, k) =>
        `tr.process[data-process-id="p${k}"][data-output-bytes="${bytes}"]`
      );
      await page.locator(caughtUp.join(", ")).nth(PROCESSES - 1).waitFor({ state: "attached" });
      assert.equal(flood.exitCode, null, "the flood still runs");

      // Terminate from the page ends the flood on the agent's side, and the terminal followed it to its end.
      page.on("dialog", (dialog) => dialog.accept());
      await page.click('tr.process[data-process-id="flood"] button.terminate');
      const outcome = await withTimeout(flood.wait(), STEP_MS, "the flood to end");
      assert.equal(outcome.exitCode, 143);
      await page.locator('tr.process[data-process-id="flood"][data-state="closed"]').waitFor();
      await screen.filter({ hasText: "[closed, exit code 143]" }).waitFor({ timeout: 60_000 });

      // Coalesced: about one message per 100 ms at most, whatever the output rate.
      const elapsed = Date.now() - opened;
      const after = frames.filter((frame) => frame.at >= opened);
      assert.ok(after.length <= elapsed / 100 * 1.5 + 5, `${after.length} messages in ${elapsed} ms`);
      assert.ok(after.length >= 3, `${after.length} messages in ${elapsed} ms`);
      console.log(
        `console: ${frames.length} messages, first ${frames[0].bytes} bytes, ` +
          `largest delta ${Math.max(...frames.slice(1).map((frame) => frame.bytes))} bytes`,
      );
      await page.close();
    } finally {
      await browser.close();
      await client.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
