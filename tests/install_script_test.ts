/**
 * scripts/install.sh into a scratch root (never the real system), and the systemd unit it installs
 * checked by `systemd-analyze verify` where that exists.
 */
import assert from "node:assert/strict";
import { requires } from "./support/requirements.ts";
import { join } from "node:path";

const INSTALL_SH = new URL("../scripts/install.sh", import.meta.url).pathname;

async function install(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("sh", { args: [INSTALL_SH, ...args], stdin: "null" }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function mode(path: string): Promise<string> {
  return ((await Deno.stat(path)).mode! & 0o777).toString(8);
}

/** A scratch root with a stand-in program, removed afterwards. */
async function withScratch(fn: (root: string, program: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exec-server-install-" });
  try {
    const program = join(dir, "program");
    await Deno.writeTextFile(program, "#!/bin/sh\necho exec-server 0.0.0-test\n");
    await fn(join(dir, "root"), program);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("install.sh puts the program, a 0600 token, the env file and the unit under --root; a rerun keeps the token", async () => {
  await withScratch(async (root, program) => {
    const first = await install(["--root", root, "--prefix", "/opt/exec-server", "--from", program]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /no systemctl command was run/);
    const bin = join(root, "opt/exec-server/bin/exec-server");
    const token = join(root, "etc/exec-server/token");
    const envFile = join(root, "etc/exec-server/exec-server.env");
    const unit = join(root, "etc/systemd/system/exec-server.service");
    assert.deepEqual(
      [await mode(bin), await mode(token), await mode(envFile), await mode(unit)],
      ["755", "600", "644", "644"],
    );
    assert.equal(await Deno.readTextFile(bin), await Deno.readTextFile(program));
    const tokenText = await Deno.readTextFile(token);
    assert.match(tokenText, /^[0-9a-f]{64}\n$/);
    assert.ok(!first.stdout.includes(tokenText.trim()) && !first.stderr.includes(tokenText.trim()));
    const env = await Deno.readTextFile(envFile);
    assert.match(env, /^EXEC_SERVER_ARGS=--listen ws:\/\/127\.0\.0\.1:8765$/m);
    assert.match(env, /^EXEC_SERVER_LOG_FORMAT=json$/m);
    const unitText = await Deno.readTextFile(unit);
    assert.match(
      unitText,
      /^ExecStart=\/opt\/exec-server\/bin\/exec-server serve \$EXEC_SERVER_ARGS --ws-auth capability-token --ws-token-file %d\/token$/m,
    );
    assert.match(unitText, /^LoadCredential=token:\/etc\/exec-server\/token$/m);
    assert.match(unitText, /^NoNewPrivileges=yes$/m);
    assert.match(unitText, /^Delegate=yes$/m);
    assert.doesNotMatch(unitText, /^RestrictNamespaces=/m, "bubblewrap needs namespaces");

    // A rerun replaces the program and the unit, and keeps the token and the env file.
    await Deno.writeTextFile(program, "#!/bin/sh\necho exec-server 0.0.1-test\n");
    await Deno.writeTextFile(envFile, "EXEC_SERVER_ARGS=--listen ws://127.0.0.1:9999\n");
    const second = await install(["--root", root, "--prefix", "/opt/exec-server", "--from", program]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await Deno.readTextFile(token), tokenText);
    assert.equal(await Deno.readTextFile(envFile), "EXEC_SERVER_ARGS=--listen ws://127.0.0.1:9999\n");
    assert.match(await Deno.readTextFile(bin), /0\.0\.1-test/);
    assert.match(second.stdout, /kept the existing token/);
  });
});

Deno.test("install.sh refuses unknown arguments, a relative prefix and a missing program", async () => {
  await withScratch(async (root, program) => {
    assert.equal((await install(["--bogus"])).code, 2);
    assert.equal((await install(["--root", root, "--prefix", "opt", "--from", program])).code, 2);
    const missing = await install(["--root", root, "--from", join(root, "nope")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file/);
  });
});

Deno.test({
  name: "the installed unit passes systemd-analyze verify (paths mapped into the scratch root)",
  ...requires("systemd"),
  fn: async () => {
    await withScratch(async (root, program) => {
      const result = await install(["--root", root, "--prefix", "/opt/exec-server", "--from", program]);
      assert.equal(result.code, 0, result.stderr);
      // verify checks that ExecStart exists, so the absolute paths point into the scratch root.
      const unitDir = join(root, "verify");
      await Deno.mkdir(unitDir);
      const unit = join(unitDir, "exec-server.service");
      const installed = await Deno.readTextFile(join(root, "etc/systemd/system/exec-server.service"));
      await Deno.writeTextFile(
        unit,
        installed.replaceAll("/opt/exec-server/", `${root}/opt/exec-server/`).replaceAll(
          "/etc/exec-server/",
          `${root}/etc/exec-server/`,
        ),
      );
      const out = await new Deno.Command("systemd-analyze", { args: ["verify", unit], stdin: "null" })
        .output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      // Unknown or malformed directives are warnings with exit 0: none may name our unit.
      const ours = stderr.split("\n").filter((l) => l.includes("exec-server.service"));
      assert.deepEqual(ours, []);
    });
  },
});
