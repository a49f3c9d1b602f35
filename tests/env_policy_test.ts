import assert from "node:assert/strict";
import { buildChildEnv, compileEnvGlob, CORE_ENV_VARS } from "../src/process/env_policy.ts";
import type { EnvPolicy } from "../src/protocol/env_policy.ts";
import { outputText } from "./support/rpc_peer.ts";
import { withPeer } from "./support/servers.ts";

const SERVER_ENV = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/u",
  USER: "u",
  LANG: "C.UTF-8",
  TZ: "UTC",
  TERM: "xterm",
  FOO_KEY: "k",
  my_secret: "s",
  API_TOKEN: "t",
  KEYBOARD: "us",
  FOO: "1",
  foo_lower: "2",
  BAR: "3",
};

function policy(overrides: Partial<EnvPolicy>): EnvPolicy {
  return { inherit: "all", ignoreDefaultExcludes: true, exclude: [], set: {}, includeOnly: [], ...overrides };
}

Deno.test("envPolicy absent: env is the exact child environment, nothing inherited", () => {
  assert.deepEqual(buildChildEnv({ ONLY: "1" }, null, SERVER_ENV), { ONLY: "1" });
  assert.deepEqual(buildChildEnv({}, undefined, SERVER_ENV), {});
});

Deno.test("envPolicy inherit all / none / core", () => {
  assert.deepEqual(buildChildEnv({}, policy({ inherit: "all" }), SERVER_ENV), SERVER_ENV);
  assert.deepEqual(buildChildEnv({}, policy({ inherit: "none" }), SERVER_ENV), {});
  const core = buildChildEnv({}, policy({ inherit: "core" }), SERVER_ENV);
  assert.deepEqual(Object.keys(core).sort(), ["HOME", "LANG", "PATH", "USER"]);
  assert.ok(!("TZ" in core) && !("TERM" in core), "TZ and TERM are not core");
  assert.deepEqual([...CORE_ENV_VARS].sort(), [
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TEMP",
    "TMP",
    "TMPDIR",
    "USER",
  ]);
  // Core matching is exact and case-sensitive on Unix.
  assert.deepEqual(buildChildEnv({}, policy({ inherit: "core" }), { path: "x", PATH: "y" }), { PATH: "y" });
});

Deno.test("envPolicy default excludes drop *KEY*, *SECRET*, *TOKEN* case-insensitively, KEYBOARD included", () => {
  const env = buildChildEnv({}, policy({ ignoreDefaultExcludes: false }), SERVER_ENV);
  for (const name of ["FOO_KEY", "my_secret", "API_TOKEN", "KEYBOARD"]) assert.ok(!(name in env), name);
  assert.equal(env.FOO, "1");
  const kept = buildChildEnv({}, policy({ ignoreDefaultExcludes: true }), SERVER_ENV);
  assert.equal(kept.KEYBOARD, "us");
});

Deno.test("envPolicy exclude globs are case-insensitive with * and ? and no character classes", () => {
  const env = buildChildEnv({}, policy({ exclude: ["f*"] }), SERVER_ENV);
  assert.ok(!("FOO" in env) && !("foo_lower" in env) && !("FOO_KEY" in env));
  assert.equal(env.BAR, "3");
  const re = compileEnvGlob("A?C");
  assert.deepEqual(["ABC", "AXC", "abc", "ABBC"].map((n) => re.test(n)), [true, true, true, false]);
  assert.ok(compileEnvGlob("a*c").test("ABBC"));
  assert.ok(compileEnvGlob("[AB]*").test("[AB]x"), "brackets are literal");
  assert.ok(!compileEnvGlob("[AB]*").test("Ax"));
});

Deno.test("envPolicy set re-adds excluded names, then includeOnly filters set values too", () => {
  const env = buildChildEnv(
    {},
    policy({ ignoreDefaultExcludes: false, exclude: ["BAR"], set: { NEW_TOKEN: "n", BAR: "again", S: "s" } }),
    SERVER_ENV,
  );
  assert.equal(env.NEW_TOKEN, "n", "set survives the default excludes");
  assert.equal(env.BAR, "again", "set survives exclude");
  const only = buildChildEnv({}, policy({ set: { S: "s", T: "t" }, includeOnly: ["PATH", "S"] }), SERVER_ENV);
  assert.deepEqual(only, { PATH: "/usr/bin:/bin", S: "s" });
});

Deno.test("envPolicy overlay env is applied last and never filtered", () => {
  const env = buildChildEnv(
    { ENV_SECRET: "e", PATH: "/custom", OV: "overlay", O2: "b" },
    policy({
      inherit: "none",
      ignoreDefaultExcludes: false,
      exclude: ["PATH"],
      set: { S1: "a", OV: "policy" },
      includeOnly: ["S1", "OV"],
    }),
    SERVER_ENV,
  );
  assert.deepEqual(env, { S1: "a", OV: "overlay", ENV_SECRET: "e", PATH: "/custom", O2: "b" });
});

Deno.test("process/start applies envPolicy from the server's own environment", async () => {
  await withPeer("stdio", async (peer) => {
    await peer.call("process/start", {
      processId: "env",
      argv: ["/usr/bin/env"],
      cwd: "/tmp",
      env: { FROM_CLIENT: "c" },
      tty: false,
      envPolicy: {
        inherit: "core",
        ignoreDefaultExcludes: false,
        exclude: [],
        set: { SET_ONE: "1" },
        includeOnly: [],
      },
    });
    const lines = outputText(await peer.waitClosed("env")).trim().split("\n").sort();
    const names = lines.map((l) => l.split("=")[0]);
    assert.ok(names.includes("PATH") && names.includes("SET_ONE") && names.includes("FROM_CLIENT"));
    assert.ok(!names.includes("SERVER_ONLY_MARKER"), "not core");
    for (const name of names) assert.ok([...CORE_ENV_VARS, "SET_ONE", "FROM_CLIENT"].includes(name), name);
  }, { serverArgs: [] });
  await withPeer("stdio", async (peer) => {
    const reply = await peer.request("process/start", {
      processId: "bad",
      argv: ["true"],
      cwd: "/tmp",
      env: {},
      tty: false,
      envPolicy: { inherit: "ALL", ignoreDefaultExcludes: true, exclude: [], set: {}, includeOnly: [] },
    });
    assert.equal(reply.error?.code, -32602);
    assert.match(reply.error!.message, /unknown variant `ALL`, expected one of `core`, `all`, `none`/);
    const missing = await peer.request("process/start", {
      processId: "bad2",
      argv: ["true"],
      cwd: "/tmp",
      env: {},
      tty: false,
      envPolicy: { inherit: "all", exclude: [], set: {}, includeOnly: [] },
    });
    assert.match(missing.error!.message, /missing field `ignoreDefaultExcludes`/);
  });
});
