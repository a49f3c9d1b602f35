import assert from "node:assert/strict";
import { ErrorCode, RpcError } from "../src/protocol/errors.ts";
import type { SandboxContext, SandboxEntry } from "../src/protocol/sandbox.ts";
import { SandboxContextSchema } from "../src/protocol/sandbox.ts";
import { globToRegExp } from "../src/sandbox/glob.ts";
import { type EnforcedPlan, sandboxPlan } from "../src/sandbox/policy.ts";
import { withTempDir } from "./fs_test_util.ts";

const root = (access: SandboxEntry["access"]): SandboxEntry => ({
  path: { type: "special", value: { kind: "root" } },
  access,
});
const at = (path: string, access: SandboxEntry["access"]): SandboxEntry => ({
  path: { type: "path", path },
  access,
});

function managed(entries: SandboxEntry[], extra: Partial<SandboxContext> = {}): SandboxContext {
  return SandboxContextSchema.parse({
    permissions: { type: "managed", file_system: { type: "restricted", entries }, network: "restricted" },
    windowsSandboxLevel: "disabled",
    ...extra,
  });
}

function enforced(context: SandboxContext): EnforcedPlan {
  const plan = sandboxPlan(context);
  assert.equal(plan.kind, "enforced");
  return plan as EnforcedPlan;
}

Deno.test("sandbox/plan runs directly without a context, or for disabled, external, unrestricted and full-disk write", () => {
  const base = { windowsSandboxLevel: "disabled" as const };
  assert.deepEqual(sandboxPlan(null), { kind: "direct" });
  assert.deepEqual(sandboxPlan(undefined), { kind: "direct" });
  for (
    const permissions of [
      { type: "disabled" },
      { type: "external", network: "enabled" },
      { type: "managed", file_system: { type: "unrestricted" }, network: "restricted" },
      {
        type: "managed",
        file_system: { type: "restricted", entries: [root("write")] },
        network: "restricted",
      },
      { type: "managed", file_system: { type: "restricted", entries: [root("write"), at("/tmp", "write")] } },
    ]
  ) {
    assert.deepEqual(
      sandboxPlan(SandboxContextSchema.parse({ ...base, permissions })),
      { kind: "direct" },
      JSON.stringify(permissions),
    );
  }
});

Deno.test("sandbox/plan enforces restricted managed profiles, root write narrowed by deny, and every legacy profile", async () => {
  await withTempDir((dir) => {
    const plan = enforced(managed([root("read"), at(dir, "write")]));
    assert.deepEqual(plan, {
      kind: "enforced",
      root: "read",
      mounts: [{ path: dir, access: "write", isDirectory: true }],
      network: false,
      cwd: null,
    });
    assert.equal(enforced(managed([root("write"), at(dir, "deny")])).root, "write");

    const legacy = (permissions: unknown) =>
      enforced(SandboxContextSchema.parse({ permissions, windowsSandboxLevel: "disabled" }));
    assert.deepEqual(legacy({}), { kind: "enforced", root: "none", mounts: [], network: false, cwd: null });
    const rw = legacy({ network: { enabled: true }, file_system: { read: ["/"], write: [dir] } });
    assert.deepEqual([rw.root, rw.network, rw.mounts.map((m) => [m.path, m.access])], ["read", true, [[
      dir,
      "write",
    ]]]);
    assert.equal(legacy({ file_system: { entries: [root("write")] } }).root, "write");
  });
});

Deno.test("sandbox/plan canonicalizes entries, skips missing ones, and lets deny win at equal paths", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.writeTextFile(`${dir}/real/secret`, "s");
    await Deno.symlink(`${dir}/real`, `${dir}/alias`);
    const plan = enforced(managed([
      at(`${dir}/alias`, "write"),
      at(`${dir}/real/../real/secret`, "none"),
      at(`${dir}/real/secret`, "read"),
      at(`${dir}/missing`, "write"),
    ]));
    assert.deepEqual(plan.mounts, [
      { path: `${dir}/real`, access: "write", isDirectory: true },
      { path: `${dir}/real/secret`, access: "deny", isDirectory: false },
    ]);
  });
});

Deno.test("sandbox/plan resolves cwd-relative entries against cwd and requires cwd for them", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    const projectRoots: SandboxEntry = {
      path: { type: "special", value: { kind: "project_roots" } },
      access: "write",
    };
    const sub: SandboxEntry = {
      path: { type: "special", value: { kind: "project_roots", subpath: "sub" } },
      access: "read",
    };
    const plan = enforced(managed([root("read"), projectRoots, sub], { cwd: dir }));
    assert.deepEqual(plan.mounts.map((m) => [m.path, m.access]), [[dir, "write"], [`${dir}/sub`, "read"]]);
    assert.equal(plan.cwd, dir);

    for (
      const entry of [projectRoots, at("relative/path", "read"), {
        path: { type: "glob_pattern", pattern: "*.env" },
        access: "deny",
      }]
    ) {
      assert.throws(() => sandboxPlan(managed([root("read"), entry as SandboxEntry])), (e: unknown) => {
        assert.ok(e instanceof RpcError);
        assert.deepEqual([e.code, e.message], [
          ErrorCode.InvalidRequest,
          "file system sandbox context with dynamic permissions requires cwd",
        ]);
        return true;
      });
    }
    assert.throws(() => sandboxPlan(managed([root("read")], { cwd: "relative" })), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.deepEqual([e.code, e.message], [ErrorCode.InvalidParams, "path is not absolute: relative"]);
      return true;
    });
  });
});

Deno.test("sandbox/plan reads a file: URI entry path as absolute, not relative to cwd", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.mkdir(`${dir}/cwd`);
    const plan = enforced(managed([at(`file://${dir}/sub`, "read")], { cwd: `${dir}/cwd` }));
    assert.deepEqual(plan.mounts.map((m) => [m.path, m.access]), [[`${dir}/sub`, "read"]]);
  });
});

Deno.test("sandbox/plan expands glob entries into the existing paths they match", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    for (const f of ["x.env", "a/y.env", "a/b/z.env", "a/keep.txt"]) {
      await Deno.writeTextFile(`${dir}/${f}`, "");
    }
    const plan = enforced(
      managed([root("read"), { path: { type: "glob_pattern", pattern: "**/*.env" }, access: "deny" }], {
        cwd: dir,
      }),
    );
    assert.deepEqual(plan.mounts.map((m) => m.path).sort(), [
      `${dir}/a/b/z.env`,
      `${dir}/a/y.env`,
      `${dir}/x.env`,
    ]);
    assert.ok(globToRegExp("/w/*.txt").test("/w/a.txt"));
    assert.ok(!globToRegExp("/w/*.txt").test("/w/sub/a.txt"));
    assert.ok(globToRegExp("/w/**/f[0-9]?").test("/w/f1x"));
  });
});

Deno.test("sandbox/plan ignores unknown special paths and maps slash_tmp to /tmp", () => {
  const special = (kind: string): SandboxEntry => ({
    path: { type: "special", value: { kind } },
    access: "write",
  });
  const plan = enforced(managed([root("read"), special("some_future_kind"), special("slash_tmp")]));
  assert.deepEqual(plan.mounts.map((m) => m.path), [Deno.realPathSync("/tmp")]);
});
