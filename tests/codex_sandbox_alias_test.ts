/**
 * The `codex-linux-sandbox` alias Codex 0.140's self-sandboxing needs on PATH: made in a directory only
 * this user can write, and refused (no alias, PATH unchanged) when that directory is writable by others.
 */
import assert from "node:assert/strict";
import { withCodexSandboxAlias } from "../src/process/codex_sandbox_alias.ts";

async function withRuntimeDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "alias-runtime-" });
  const previous = Deno.env.get("XDG_RUNTIME_DIR");
  Deno.env.set("XDG_RUNTIME_DIR", dir);
  try {
    await fn(dir);
  } finally {
    if (previous === undefined) Deno.env.delete("XDG_RUNTIME_DIR");
    else Deno.env.set("XDG_RUNTIME_DIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a codex-linux-sandbox start gets a private alias dir first on PATH; other starts are untouched", () =>
  withRuntimeDir((runtime) => {
    const target = "/bin/true"; // any absolute program
    const env = withCodexSandboxAlias(target, "codex-linux-sandbox", { PATH: "/usr/bin:/bin" });
    const [first, ...rest] = env.PATH.split(":");
    assert.deepEqual(rest, ["/usr/bin", "/bin"]);
    assert.ok(first.startsWith(`${runtime}/exec-server-`), first);
    assert.equal(Deno.readLinkSync(`${first}/codex-linux-sandbox`), target);
    assert.equal((Deno.statSync(first).mode ?? 0) & 0o777, 0o700);
    const plain = { PATH: "/usr/bin" };
    assert.equal(withCodexSandboxAlias(target, null, plain), plain);
    assert.equal(withCodexSandboxAlias("relative/codex", "codex-linux-sandbox", plain), plain);
  }));

Deno.test("no alias where the alias directory could be planted by another user (group/world-writable)", () =>
  withRuntimeDir((runtime) => {
    const base = `${runtime}/exec-server-${Deno.uid()}-aliases`;
    Deno.mkdirSync(base);
    Deno.chmodSync(base, 0o777);
    const env = { PATH: "/usr/bin" };
    assert.equal(withCodexSandboxAlias("/bin/false", "codex-linux-sandbox", env), env);
  }));
