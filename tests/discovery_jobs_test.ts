/**
 * The sandbox helper's side of capability discovery: a job read from JSON is checked before it runs, and
 * a root job scans the (local) filesystem as `capabilityRoots/discoverV1` does.
 */
import assert from "node:assert/strict";
import { DISCOVERY_HELPER_METHOD, runDiscoveryHelperRequest } from "../src/server/discovery_jobs.ts";
import { handleHelperRequest } from "../src/sandbox/helper.ts";
import { RpcError } from "../src/protocol/errors.ts";
import { withTempDir } from "./fs_test_util.ts";

Deno.test("the discovery helper refuses a malformed job with -32602 and runs a well-formed root job", async () => {
  for (const bad of [null, {}, { kind: "root", id: 1, uri: "u", root: "/" }, { kind: "skills", home: 5 }]) {
    await assert.rejects(
      runDiscoveryHelperRequest(bad),
      (e: unknown) => e instanceof RpcError && e.code === -32602,
    );
  }
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/s`);
    await Deno.writeTextFile(`${dir}/s/SKILL.md`, "hello\n");
    const reply = await handleHelperRequest(
      { method: DISCOVERY_HELPER_METHOD, params: { kind: "root", id: "r", uri: `file://${dir}`, root: dir } },
      (_method, params) => runDiscoveryHelperRequest(params),
    );
    assert.deepEqual(reply, {
      result: {
        id: "r",
        path: `file://${dir}`,
        plugin: null,
        skills: [{ instructions: { path: `file://${dir}/s/SKILL.md`, contents: "hello\n" }, metadata: null }],
        namespaceManifests: [],
        warnings: [],
        error: null,
      },
    });
  });
});
