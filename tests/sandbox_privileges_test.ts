/**
 * A sandboxed process holds no privileges, also when the server runs as root: no capabilities (so no
 * mount, remount or unmount), no_new_privs (so setuid binaries and file capabilities give nothing back),
 * and no nested user namespaces. Each test starts a real server and runs the command through the client.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  IS_ROOT,
  managedSandbox,
  NO_BWRAP,
  pathEntry,
  rootEntry,
  shSandboxed,
  withSandboxServer,
} from "./support/sandbox_server.ts";
import { withTempDir } from "./fs_test_util.ts";

/** The capability and no_new_privs lines of /proc/<self>/status as a map. */
function statusFields(output: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of output.matchAll(/^(Cap\w+|NoNewPrivs|Uid):\s*(.+)$/gm)) {
    fields[match[1]] = match[2].trim();
  }
  return fields;
}

const ZERO = "0000000000000000";

Deno.test({
  name:
    "sandbox/privileges a sandboxed process has no capabilities and no_new_privs, also through a setuid binary",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      // A setuid-root copy of cat: with no_new_privs and an empty bounding set it must regain nothing.
      const suid = join(dir, "suid-cat");
      await Deno.copyFile("/bin/cat", suid);
      if (IS_ROOT) await Deno.chmod(suid, 0o4755);
      await withSandboxServer([], async ({ client }) => {
        for (const network of [false, true]) {
          const sandbox = managedSandbox([rootEntry("read"), pathEntry(dir, "write")], { network });
          const ran = await shSandboxed(client, "cat /proc/self/status", sandbox);
          assert.equal(ran.exitCode, 0, ran.output);
          const fields = statusFields(ran.output);
          for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            assert.equal(fields[cap], ZERO, `${cap} inside the sandbox (network ${network}): ${ran.output}`);
          }
          assert.equal(fields.NoNewPrivs, "1");
          const viaSuid = await shSandboxed(client, `'${suid}' /proc/self/status`, sandbox);
          assert.equal(viaSuid.exitCode, 0, viaSuid.output);
          const suidFields = statusFields(viaSuid.output);
          assert.equal(suidFields.CapEff, ZERO, `CapEff after exec of a setuid binary: ${viaSuid.output}`);
          assert.equal(suidFields.CapPrm, ZERO);
        }
      });
    }),
});

Deno.test({
  name: "sandbox/privileges mount -o remount,rw,bind / fails and a read-only path stays read-only",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      const outside = join(dir, "outside");
      await Deno.mkdir(ws);
      await Deno.mkdir(outside);
      await withSandboxServer([], async ({ client }) => {
        const sandbox = managedSandbox([rootEntry("read"), pathEntry(ws, "write")]);
        const ran = await shSandboxed(
          client,
          // Remount `/` and the mount that holds `outside` writable, then try to write there.
          `mount -o remount,rw,bind / && echo REMOUNTED-ROOT
           m=$(findmnt -no TARGET -T '${outside}' 2>/dev/null || echo /)
           mount -o remount,rw,bind "$m" && echo REMOUNTED-OUTSIDE
           mount -t tmpfs none '${outside}' && echo MOUNTED-TMPFS
           echo x > '${outside}/f' && echo WROTE-OUTSIDE
           touch /exec-server-remount-probe && echo WROTE-ROOT
           true`,
          sandbox,
          { cwd: ws },
        );
        try {
          assert.doesNotMatch(ran.output, /REMOUNTED|MOUNTED-TMPFS|WROTE/, ran.output);
          assert.match(ran.output, /mount/, "mount must report its refusal");
          await assert.rejects(Deno.stat(join(outside, "f")), Deno.errors.NotFound);
          await assert.rejects(Deno.stat("/exec-server-remount-probe"), Deno.errors.NotFound);
        } finally {
          await Deno.remove("/exec-server-remount-probe").catch(() => {}); // only when the sandbox failed
        }
      });
    }),
});

Deno.test({
  name: "sandbox/privileges unmounting a deny mask fails and the denied file and directory stay unreadable",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      await Deno.writeTextFile(join(ws, "secret.txt"), "FILE-SECRET");
      await Deno.mkdir(join(ws, "secrets"));
      await Deno.writeTextFile(join(ws, "secrets", "key"), "DIR-SECRET");
      await withSandboxServer([], async ({ client }) => {
        const sandbox = managedSandbox([
          rootEntry("read"),
          pathEntry(ws, "write"),
          pathEntry(join(ws, "secret.txt"), "none"),
          pathEntry(join(ws, "secrets"), "none"),
        ]);
        const ran = await shSandboxed(
          client,
          `umount secret.txt && echo UNMOUNTED-FILE
           umount -l secrets && echo UNMOUNTED-DIR
           # A nested user namespace must not help either (its copies of the mounts are locked).
           unshare -Urm sh -c 'umount secret.txt; umount secrets; cat secret.txt secrets/key' 2>&1
           cat secret.txt secrets/key 2>&1
           true`,
          sandbox,
          { cwd: ws },
        );
        assert.doesNotMatch(ran.output, /UNMOUNTED|FILE-SECRET|DIR-SECRET/, ran.output);
      });
    }),
});

Deno.test({
  name: "sandbox/privileges a sandboxed process cannot create a user namespace",
  ignore: NO_BWRAP,
  fn: () =>
    withSandboxServer([], async ({ client }) => {
      const ran = await shSandboxed(
        client,
        "unshare -U true && echo NESTED-USERNS; unshare -Ur id -u && echo NESTED-ROOT; true",
        managedSandbox([rootEntry("read")]),
      );
      assert.doesNotMatch(ran.output, /NESTED/, ran.output);
    }),
});

Deno.test({
  name: "sandbox/privileges kernel tunables in /proc/sys and /sys stay read-only, also under a writable root",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      await withSandboxServer([], async ({ client }) => {
        // A writable root narrowed by one deny entry is enforced (not full-disk write).
        const profiles = [
          managedSandbox([rootEntry("read")]),
          managedSandbox([rootEntry("write"), pathEntry(join(dir, "denied"), "none")]),
          managedSandbox([rootEntry("read"), pathEntry("/sys/kernel", "write"), pathEntry("/proc", "read")]),
        ];
        await Deno.mkdir(join(dir, "denied"));
        for (const sandbox of profiles) {
          const ran = await shSandboxed(
            client,
            // Writing core_pattern back unchanged is harmless where it succeeds; it must not succeed.
            `v=$(cat /proc/sys/kernel/core_pattern)
             printf '%s\\n' "$v" > /proc/sys/kernel/core_pattern && echo WROTE-CORE-PATTERN
             find /proc/sys /sys/kernel /sys/fs -xdev -maxdepth 3 -type f -writable 2>/dev/null | sed 's/^/WRITABLE /' | head -5
             ls /proc | grep -qx 1 && [ "$(cat /proc/1/comm)" = bwrap ] || echo HOST-PROC
             true`,
            sandbox,
          );
          assert.doesNotMatch(ran.output, /WROTE-CORE-PATTERN|WRITABLE|HOST-PROC/, ran.output);
        }
      });
    }),
});
