/**
 * Differential tests of Codex 0.171's sandbox contexts against the real 0.171 exec-server: every
 * workspace root is writable (`project_roots` expands to `workspaceRoots`, or `policyContext`'s), a
 * denied write is reported as `sandboxDenied: true` and a plain failure is not, and
 * `missing_path_behavior` is validated.
 */
import { requires } from "./support/requirements.ts";
import { b64, call, compare, type Step, u } from "./support/differential.ts";
import type { Json } from "./support/rpc_peer.ts";

/** Codex 0.171's workspace-write context: `/` readable, every project root writable but its `.git`. */
function workspaceWrite(w: string, roots: string[], extra: Json = {}): Json {
  return {
    permissions: {
      type: "managed",
      file_system: {
        type: "restricted",
        entries: [
          { path: { type: "special", value: { kind: "root" } }, access: "read" },
          { path: { type: "special", value: { kind: "project_roots" } }, access: "write" },
          {
            path: { type: "special", value: { kind: "project_roots", subpath: ".git" } },
            access: "read",
            missing_path_behavior: "skip",
          },
        ],
      },
      network: "restricted",
    },
    cwd: u(w, "w1"),
    workspaceRoots: roots.map((r) => u(w, r)),
    windowsSandboxLevel: "disabled",
    windowsSandboxProxySettingsMode: "reconcile",
    useLegacyLandlock: false,
    ...extra,
  };
}

const sandboxed = (id: string, script: string, roots: string[]): Step =>
  call("process/start", (w) => ({
    processId: id,
    argv: ["/bin/sh", "-c", script.replaceAll("W", w)],
    cwd: u(w, "w1"),
    env: { PATH: "/usr/bin:/bin" },
    tty: false,
    sandbox: workspaceWrite(w, roots),
  }));

const read = (w: string, rel: string) => Deno.readTextFile(`${w}/${rel}`).catch((e) => `${e.name}`);

async function fixture(w: string): Promise<void> {
  for (const dir of ["w1", "w1/.git", "w2", "out"]) await Deno.mkdir(`${w}/${dir}`);
  await Deno.writeTextFile(`${w}/out/r`, "readable outside the roots\n");
}

const sandboxTest = requires("bubblewrap");

Deno.test({
  ...sandboxTest,
  name: "a process may write into every workspace root; denied writes are sandboxDenied, plain failures not",
  fn: () =>
    compare(fixture, [
      sandboxed("second-root", "echo a > W/w2/f && echo OK", ["w1", "w2"]),
      { outcome: "second-root" },
      { fact: (w) => read(w, "w2/f") },
      sandboxed("outside", "echo a > W/out/f", ["w1"]),
      { outcome: "outside" },
      sandboxed("git", "echo a > W/w1/.git/x", ["w1"]),
      { outcome: "git" },
      sandboxed("not-a-root", "echo a > W/w2/f2", ["w1"]),
      { outcome: "not-a-root" },
      sandboxed("plain", "echo failing >&2; exit 1", ["w1"]),
      { outcome: "plain" },
      sandboxed("readable", "cat W/out/r; exit 1", ["w1"]),
      { outcome: "readable" },
      { fact: (w) => Promise.all([read(w, "out/f"), read(w, "w1/.git/x"), read(w, "w2/f2")]) },
    ]),
});

Deno.test({
  ...sandboxTest,
  name: "fs writes reach a second root named in workspaceRoots or in policyContext",
  fn: () =>
    compare(fixture, [
      call("fs/writeFile", (w) => ({
        path: u(w, "w2/a"),
        dataBase64: b64("x"),
        sandbox: workspaceWrite(w, ["w1", "w2"]),
      })),
      call("fs/writeFile", (w) => ({
        path: u(w, "w2/b"),
        dataBase64: b64("y"),
        sandbox: workspaceWrite(w, ["w1"], {
          policyContext: { cwd: u(w, "w1"), workspaceRoots: [u(w, "w1"), u(w, "w2")] },
        }),
      })),
      call("fs/createDirectory", (w) => ({
        path: u(w, "w2/d/e"),
        recursive: true,
        sandbox: workspaceWrite(w, ["w1", "w2"]),
      })),
      call("fs/writeFile", (w) => ({
        path: u(w, "out/c"),
        dataBase64: b64("z"),
        sandbox: workspaceWrite(w, ["w1"]),
      }), "code"),
      { fact: (w) => Promise.all([read(w, "w2/a"), read(w, "w2/b"), read(w, "out/c")]) },
      { fact: (w) => Deno.stat(`${w}/w2/d/e`).then((s) => s.isDirectory) },
    ]),
});

Deno.test({
  ...sandboxTest,
  name: "missing_path_behavior other than skip is -32602 and nothing starts",
  fn: () =>
    compare(fixture, [
      call("process/start", (w) => {
        const sandbox = workspaceWrite(w, ["w1"]);
        sandbox.permissions.file_system.entries[2].missing_path_behavior = "create";
        return {
          processId: "c",
          argv: ["true"],
          cwd: u(w, "w1"),
          env: {},
          tty: false,
          sandbox,
        };
      }, "code"),
      call("process/read", () => ({ processId: "c" })),
    ]),
});
