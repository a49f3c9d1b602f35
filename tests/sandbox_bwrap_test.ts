import assert from "node:assert/strict";
import { type SandboxContext, SandboxContextSchema, type SandboxEntry } from "../src/protocol/sandbox.ts";
import { requires } from "./support/requirements.ts";
import { bwrapArgv, bwrapAvailable, findBwrap, userNamespacesUsable } from "../src/sandbox/bwrap.ts";
import { type EnforcedPlan, sandboxPlan } from "../src/sandbox/policy.ts";
import { withTempDir } from "./fs_test_util.ts";

const { ignore } = requires("bubblewrap");
const at = (path: string, access: SandboxEntry["access"]): SandboxEntry => ({
  path: { type: "path", path },
  access,
});
function managed(entries: SandboxEntry[], network = "restricted"): SandboxContext {
  return SandboxContextSchema.parse({
    permissions: { type: "managed", file_system: { type: "restricted", entries }, network },
    windowsSandboxLevel: "disabled",
  });
}

async function sh(prefix: string[], script: string): Promise<{ code: number; stderr: string }> {
  const [cmd, ...args] = [...prefix, "/bin/sh", "-c", script];
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("sandbox/bwrap finds bubblewrap on PATH or by path and reports a missing one", async () => {
  await withTempDir((dir) => {
    assert.equal(findBwrap(`${dir}/bwrap`), null);
    assert.equal(bwrapAvailable(`${dir}/bwrap`), false);
    assert.equal(findBwrap("exec-server-no-such-binary"), null);
    const found = findBwrap();
    if (found) assert.equal(findBwrap(found), found);
  });
});

Deno.test("sandbox/bwrap argv binds root read-only, roots writable, masks denies, and ends with --", () => {
  const plan: EnforcedPlan = {
    kind: "enforced",
    root: "read",
    network: false,
    cwd: null,
    mounts: [
      { path: "/ws", access: "write", isDirectory: true },
      { path: "/ws/ro", access: "read", isDirectory: true },
      { path: "/ws/.env", access: "deny", isDirectory: false },
      { path: "/ws/secrets", access: "deny", isDirectory: true },
    ],
  };
  // deno-fmt-ignore
  assert.deepEqual(bwrapArgv(plan, { bwrap: "/usr/bin/bwrap", cwd: "/ws", userNamespace: true, masks: [] }), [
    "/usr/bin/bwrap", "--die-with-parent", "--unshare-all", "--cap-drop", "ALL",
    "--unshare-user", "--disable-userns",
    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind-try", "/proc/sys", "/proc/sys",
    "--bind", "/ws", "/ws",
    "--ro-bind", "/ws/ro", "/ws/ro",
    "--ro-bind", "/dev/null", "/ws/.env",
    "--tmpfs", "/ws/secrets", "--remount-ro", "/ws/secrets",
    "--chdir", "/ws", "--",
  ]);
  const none = bwrapArgv({ ...plan, root: "none", network: true, mounts: [] }, {
    bwrap: "bwrap",
    extraReadOnly: ["/usr"],
    userNamespace: false,
    masks: [],
  });
  // deno-fmt-ignore
  assert.deepEqual(none, [
    "bwrap", "--die-with-parent", "--unshare-all", "--cap-drop", "ALL", "--share-net",
    "--tmpfs", "/", "--ro-bind-try", "/usr", "/usr", "--dev", "/dev", "--proc", "/proc",
    "--ro-bind-try", "/proc/sys", "/proc/sys", "--remount-ro", "/", "--",
  ]);
  // Kernel tunables stay read-only under a writable root or a write entry, and the host's /proc is never bound.
  const kernel = bwrapArgv({
    ...plan,
    root: "write",
    mounts: [
      { path: "/proc", access: "read", isDirectory: true },
      { path: "/sys/fs/cgroup", access: "write", isDirectory: true },
    ],
  }, { bwrap: "bwrap", userNamespace: false, masks: [] });
  // deno-fmt-ignore
  assert.deepEqual(kernel, [
    "bwrap", "--die-with-parent", "--unshare-all", "--cap-drop", "ALL",
    "--bind", "/", "/", "--ro-bind-try", "/sys", "/sys",
    "--dev", "/dev", "--proc", "/proc", "--ro-bind-try", "/proc/sys", "/proc/sys",
    "--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup", "--",
  ]);
});

Deno.test("sandbox/bwrap masks the server's secret files wherever a mount would show them", () => {
  const base: EnforcedPlan = { kind: "enforced", root: "read", network: true, cwd: null, mounts: [] };
  const masksOf = (plan: EnforcedPlan, masks: string[], extraReadOnly?: string[]) => {
    const argv = bwrapArgv(plan, { bwrap: "bwrap", userNamespace: true, masks, extraReadOnly });
    const found: string[] = [];
    argv.forEach((arg, i) => {
      if (arg === "--ro-bind" && argv[i + 1] === "/dev/null") found.push(argv[i + 2]);
    });
    return { found, argv };
  };
  // A readable root shows everything: the mask goes last, after the plan's own mounts.
  const ws = { path: "/srv/ws", access: "write", isDirectory: true } as const;
  const { found, argv } = masksOf({ ...base, mounts: [ws] }, ["/srv/ws/token", "/etc/exec-server/tls.key"]);
  assert.deepEqual(found, ["/srv/ws/token", "/etc/exec-server/tls.key"]);
  assert.ok(argv.lastIndexOf("/srv/ws") < argv.indexOf("/srv/ws/token"), "mask after the bind it narrows");
  // An empty root shows only what is mounted: no mask for files no mount exposes...
  assert.deepEqual(masksOf({ ...base, root: "none" }, ["/srv/token"]).found, []);
  // ...but one inside a system path bound for the command, or inside a granted path.
  assert.deepEqual(masksOf({ ...base, root: "none" }, ["/etc/exec-server/token"], ["/etc"]).found, [
    "/etc/exec-server/token",
  ]);
  assert.deepEqual(masksOf({ ...base, root: "none", mounts: [ws] }, ["/srv/ws/token"]).found, [
    "/srv/ws/token",
  ]);
  // A deny entry already hides it (a mask inside a read-only empty tmpfs could not even be created).
  const denied = { path: "/srv/ws", access: "deny", isDirectory: true } as const;
  assert.deepEqual(masksOf({ ...base, mounts: [denied] }, ["/srv/ws/token"]).found, []);
  const deniedFile = { path: "/srv/ws/token", access: "deny", isDirectory: false } as const;
  assert.deepEqual(masksOf({ ...base, mounts: [deniedFile] }, ["/srv/ws/token"]).found, ["/srv/ws/token"]);
  assert.equal(
    masksOf({ ...base, mounts: [deniedFile] }, ["/srv/ws/token"]).argv.filter((a) => a === "/srv/ws/token")
      .length,
    1,
    "only the deny entry's own mask",
  );
});

Deno.test("sandbox/bwrap uses a user namespace only where bubblewrap can create one", async () => {
  await withTempDir(async (dir) => {
    const plan: EnforcedPlan = { kind: "enforced", root: "read", network: false, cwd: null, mounts: [] };
    for (const [name, code, usable] of [["bwrap-ok", 0, true], ["bwrap-no-userns", 1, false]] as const) {
      const fake = `${dir}/${name}`;
      await Deno.writeTextFile(fake, `#!/bin/sh\necho 'no user namespaces' >&2\nexit ${code}\n`);
      await Deno.chmod(fake, 0o755);
      assert.equal(userNamespacesUsable(fake), usable);
      const argv = bwrapArgv(plan, { bwrap: fake, masks: [] });
      assert.equal(argv.includes("--unshare-user") && argv.includes("--disable-userns"), usable);
      // Capabilities are dropped either way.
      assert.deepEqual(argv.slice(1, 5), ["--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]);
    }
  });
});

Deno.test({
  name: "sandbox/bwrap a command cannot write outside the writable root but can inside",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/ws`);
      await Deno.mkdir(`${dir}/outside`);
      await Deno.symlink(`${dir}/outside`, `${dir}/ws/link`);
      const plan = sandboxPlan(
        managed([
          { path: { type: "special", value: { kind: "root" } }, access: "read" },
          at(`${dir}/ws`, "write"),
        ]),
      );
      assert.equal(plan.kind, "enforced");
      const prefix = bwrapArgv(plan as EnforcedPlan, { cwd: `${dir}/ws` });

      const inside = await sh(prefix, "echo x > inside && echo y > ./relative");
      assert.equal(inside.code, 0, inside.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/ws/inside`), "x\n");

      for (
        const target of [
          `${dir}/outside/f`,
          `${dir}/ws/../outside/g`,
          `${dir}/ws/link/h`,
          "/tmp/exec-server-bwrap-probe",
        ]
      ) {
        const outside = await sh(prefix, `echo x > '${target}'`);
        assert.notEqual(outside.code, 0, `${target} must not be writable`);
        assert.match(outside.stderr, /Read-only file system/);
      }
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/outside`)), []);
    }),
});

Deno.test({
  name: "sandbox/bwrap network is unshared unless the profile enables it",
  ignore,
  fn: async () => {
    const read = [{ path: { type: "special", value: { kind: "root" } }, access: "read" }] as SandboxEntry[];
    const listInterfaces = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '";
    const run = async (network: string) => {
      const [cmd, ...args] = [
        ...bwrapArgv(sandboxPlan(managed(read, network)) as EnforcedPlan),
        "/bin/sh",
        "-c",
        listInterfaces,
      ];
      return new TextDecoder().decode(
        (await new Deno.Command(cmd, { args, stdout: "piped" }).output()).stdout,
      ).trim();
    };
    assert.equal(await run("restricted"), "lo");
    const host = new TextDecoder().decode(
      (await new Deno.Command("/bin/sh", { args: ["-c", listInterfaces], stdout: "piped" }).output()).stdout,
    ).trim();
    assert.equal(await run("enabled"), host);
  },
});
