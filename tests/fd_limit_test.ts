/**
 * `serve` runs with its soft open-file limit at the hard limit. Deno 2.9 already raises it at start-up;
 * `raiseFdLimit` makes sure of it whatever the runtime does, so this guards the outcome, not one mechanism.
 */
import assert from "node:assert/strict";
import { startUlimitServer } from "./support/ulimit_server.ts";

function openFileLimits(pid: number): { soft: string; hard: string } {
  const line = Deno.readTextFileSync(`/proc/${pid}/limits`).split("\n").find((l) =>
    l.startsWith("Max open files")
  );
  const match = /^Max open files\s+(\S+)\s+(\S+)/.exec(line ?? "");
  if (!match) assert.fail(`no open-file limit in /proc/${pid}/limits`);
  return { soft: match[1], hard: match[2] };
}

Deno.test("serve started with a soft open-file limit of 256 runs with the hard limit", async () => {
  const hard = openFileLimits(Deno.pid).hard;
  assert.ok(
    hard === "unlimited" || Number(hard) > 256,
    `this test needs a hard limit above 256 (have ${hard})`,
  );
  const server = await startUlimitServer("-S -n 256");
  try {
    assert.deepEqual(openFileLimits(server.pid), { soft: hard, hard });
  } finally {
    await server.close();
  }
});
