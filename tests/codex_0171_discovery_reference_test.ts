/**
 * Differential tests of Codex 0.171's capability discovery (`capabilities/discoverV2`,
 * `capabilityRoots/discoverV1`) and `environmentConfig/read`, sent to the real 0.171 exec-server and to
 * ours over stdio, both with `HOME` and `CODEX_HOME` inside the same fixture layout (outside the system
 * temp dir, where the reference will not keep its `CODEX_HOME`).
 */
import { bwrapAvailable } from "../src/sandbox/bwrap.ts";
import { cacheRoot } from "./codex/fetch_codex.ts";
import { call, compare, type Step, u } from "./support/differential.ts";
import type { Json } from "./support/rpc_peer.ts";

const handshake: Step[] = [
  call("initialize", () => ({ clientName: "diff", resumeSessionId: null }), "ok"),
  { notify: "initialized" },
];

/** `$HOME` is `W/home`, `$CODEX_HOME` is `W/ch` (made before the server starts). */
function homes(w: string): Record<string, string> {
  Deno.mkdirSync(`${w}/home`, { recursive: true });
  Deno.mkdirSync(`${w}/ch`, { recursive: true });
  return { HOME: `${w}/home`, CODEX_HOME: `${w}/ch` };
}

// Three reference runs at most: under load the reference's skill scan sometimes drops a root.
const options = (extra: { handshake?: boolean } = {}) => ({
  env: homes,
  tempRoot: cacheRoot(),
  referenceRuns: 3,
  ...extra,
});

async function write(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
}

const skill = (name: string, description: string, extra = "") =>
  `---\nname: ${name}\ndescription: ${description}\n${extra}---\nbody\n`;

async function skillsFixture(w: string): Promise<void> {
  await write(`${w}/ch/skills/.system/sys1/SKILL.md`, skill("sys1", "system skill"));
  await write(
    `${w}/ch/skills/s1/SKILL.md`,
    skill("s1", "first skill", "metadata:\n  short-description: short one\n"),
  );
  await write(`${w}/ch/skills/s2/SKILL.md`, skill("s2", "second skill"));
  await write(
    `${w}/ch/skills/s2/agents/openai.yaml`,
    "policy:\n  allow_implicit_invocation: false\ndependencies:\n  tools:\n    - type: mcp\n      value: foo\n",
  );
  await write(`${w}/ch/skills/bad/SKILL.md`, "no front matter\n");
  await write(`${w}/home/.agents/skills/usk/SKILL.md`, skill("usk", "user agent skill"));
  // Sorted by path, not name; six directories deep is found, seven is not; a root SKILL.md counts.
  await write(`${w}/ch/skills/aaa/SKILL.md`, skill("zzz", "sorted by path"));
  await write(`${w}/ch/skills/SKILL.md`, skill("top", "at the root"));
  await write(`${w}/ch/skills/d1/2/3/4/5/6/SKILL.md`, skill("deep6", "six deep"));
  await write(`${w}/ch/skills/d1/2/3/4/5/6/7/SKILL.md`, skill("deep7", "seven deep"));
  // No name: the directory's; a number: as text; policy without a flag; a tool without a type is dropped.
  await write(`${w}/ch/skills/noname/SKILL.md`, "---\ndescription: nameless\n---\n");
  await write(
    `${w}/ch/skills/num/SKILL.md`,
    skill("5", "numeric name", "metadata:\n  short-description: 7\n"),
  );
  await write(
    `${w}/ch/skills/num/agents/openai.yaml`,
    "policy:\n  products: [codex, chatgpt]\ndependencies:\n  tools:\n    - type: env_var\n      value: BAR\n" +
      "      description: d\n      transport: stdio\n      command: c\n      url: http://x\n    - value: x\n",
  );
  // Symlinked directories are followed, a symlinked SKILL.md is not listed.
  await write(`${w}/ext/lnk/SKILL.md`, skill("lnk", "linked dir"));
  await write(`${w}/ext/file/SKILL.md`, skill("flink", "linked file"));
  await Deno.symlink(`${w}/ext/lnk`, `${w}/ch/skills/lnk`);
  await Deno.mkdir(`${w}/ch/skills/fl`);
  await Deno.symlink(`${w}/ext/file/SKILL.md`, `${w}/ch/skills/fl/SKILL.md`);
  // Front matter that is not YAML is read again with its top-level values quoted; values are trimmed.
  await write(
    `${w}/ch/skills/y1/SKILL.md`,
    "---\nname: [\ndescription: 'single'\nmetadata:\n  short-description: s\n---\n",
  );
  await write(`${w}/ch/skills/y2/SKILL.md`, "---\nname: y2\ndescription: >\n  folded\n  text\n---\n");
  await write(
    `${w}/ch/skills/y3/SKILL.md`,
    "---\nname: '  padded  '\ndescription: ' pad '\nmetadata:\n  short-description: ' sd '\n---\n",
  );
  // The same name in both roots is listed twice.
  await write(`${w}/home/.agents/skills/dup/SKILL.md`, skill("s1", "agents copy"));
  // A broken openai.yaml is ignored without a warning.
  await write(`${w}/ch/skills/brokenyaml/SKILL.md`, skill("by", "broken yaml"));
  await write(`${w}/ch/skills/brokenyaml/agents/openai.yaml`, "policy: [\n");
}

Deno.test("capabilities/discoverV2 lists CODEX_HOME and ~/.agents skills parsed as the reference does", () =>
  compare(skillsFixture, [
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
    ...handshake,
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w, "missing"), sandbox: null })),
    call("capabilities/discoverV2", () => ({ cwd: "file:///" })),
  ], options({ handshake: false })));

Deno.test("a skill without a description is skipped with a warning; no skills at all is empty", () =>
  compare(async (w) => {
    await write(`${w}/ch/skills/nodesc/SKILL.md`, "---\nname: nodesc\n---\n");
    await write(`${w}/ch/skills/emptydesc/SKILL.md`, '---\nname: e\ndescription: ""\n---\n');
    await write(`${w}/ch/skills/open/SKILL.md`, "---\nname: open\ndescription: never closed\n");
    await write(`${w}/ch/skills/blank/SKILL.md`, "---\nname: blank\ndescription: '   '\n---\n");
    await write(`${w}/ch/skills/nokey/SKILL.md`, "---\n{{{\ndescription: x\n---\n");
    await write(`${w}/ch/skills/indent/SKILL.md`, "---\nname: [\n  description: indented\n---\n");
  }, [
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
  ], options()));

// A fresh server each: 0.171 seems to keep discovery results for a while, so a rescan right after a
// change may still show the old warnings.
Deno.test("capabilities/discoverV2 with no skill roots at all is empty, without warnings", () =>
  compare(() => {}, [call("capabilities/discoverV2", (w) => ({ cwd: u(w) }))], options()));

Deno.test("capabilities/discoverV2 params errors are -32602 before the gate", () =>
  compare(() => {}, [
    call("capabilities/discoverV2", () => null),
    call("capabilities/discoverV2", () => ({})),
    call("capabilities/discoverV2", () => ({ cwd: null })),
    call("capabilities/discoverV2", () => ({ cwd: 5 }), "code"),
    call("capabilities/discoverV2", (w) => ({ cwd: w })),
    call("capabilities/discoverV2", () => ({ cwd: "relative" })),
    call("capabilities/discoverV2", () => ({ cwd: "http://x/y" })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: 5 }), "code"),
    // Its sandbox context needs a `cwd` URI (fs/* and capabilityRoots/discoverV1 do not) and a Windows level.
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: { ...disabled(w), cwd: undefined } })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: { ...disabled(w), cwd: null } })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: { ...disabled(w), cwd: w } })),
    call("capabilities/discoverV2", (w) => ({
      cwd: u(w),
      sandbox: { ...disabled(w), windowsSandboxLevel: undefined },
    })),
    call("initialize", () => ({ clientName: "diff", resumeSessionId: null }), "ok"),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
    { notify: "initialized" },
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: disabled(w) })),
    call("capabilityRoots/discoverV1", (w) => ({
      roots: [{ id: "r", path: u(w), sandbox: { ...disabled(w), cwd: undefined } }],
    })),
  ], options({ handshake: false })));

const disabled = (w: string) => ({
  permissions: { type: "disabled" },
  windowsSandboxLevel: "disabled",
  cwd: u(w),
});

async function rootsFixture(w: string): Promise<void> {
  const r = `${w}/r`;
  await write(`${r}/.codex-plugin/plugin.json`, '{"name":"myplug","version":"1.0.0"}\n');
  await write(`${r}/.mcp.json`, '{"mcpServers":{}}\n');
  await write(`${r}/.app.json`, '{"apps":{}}\n');
  await write(`${r}/.agents/skills/alpha/SKILL.md`, skill("alpha", "d"));
  await write(`${r}/.agents/skills/alpha/agents/openai.yaml`, "interface:\n  display_name: Alpha\n");
  await write(`${r}/.agents/skills/bad/SKILL.md`, "no fm\n");
  await write(`${r}/.codex/skills/beta/SKILL.md`, skill("beta", "d"));
  await write(`${r}/SKILL.md`, "top\n");
  await write(`${r}/a/b/c/SKILL.md`, skill("c", "d"));
  await write(`${r}/a/b/c/d/e/f/SKILL.md`, skill("f", "d"));
  await write(`${r}/a/b/c/d/e/f/g/SKILL.md`, skill("g", "d"));
  await write(`${r}/node_modules/pkg/SKILL.md`, skill("pkg", "d"));
  await write(`${r}/sub/.agents/skills/delta/SKILL.md`, skill("delta", "d"));
  await write(`${w}/f.txt`, "x\n");
  await write(`${w}/noplugin/skills/x/SKILL.md`, skill("x", "d"));
  // A plugin manifest alone: no MCP or apps config.
  await write(`${w}/bare/.codex-plugin/plugin.json`, "{}\n");
}

Deno.test("capabilityRoots/discoverV1 returns each root's raw skill, plugin and namespace files in order", () =>
  compare(rootsFixture, [
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: "r1", path: u(w, "r") }] })),
    ...handshake,
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: "r1", path: u(w, "r") }] })),
    call("capabilityRoots/discoverV1", (w) => ({
      roots: [
        { id: "a", path: u(w, "r/.agents/skills/alpha") },
        { id: "a", path: u(w, "r/sub"), sandbox: null },
        { id: "m", path: u(w, "missing") },
        { id: "f", path: u(w, "f.txt") },
        { id: "n", path: u(w, "noplugin") },
        { id: "b", path: u(w, "bare") },
      ],
    })),
    call("capabilityRoots/discoverV1", () => ({ roots: [] })),
  ], options({ handshake: false })));

Deno.test("a scan reads at most 2000 directories per root, then warns (V1) or calls itself incomplete (V2)", () =>
  compare(async (w) => {
    const wide = async (dir: string, count: number) => {
      for (let i = 0; i < count; i++) {
        await Deno.mkdir(`${dir}/d${String(i).padStart(4, "0")}`, { recursive: true });
      }
    };
    await wide(`${w}/fits`, 1999); // the root and 1999 directories: 2000
    await write(`${w}/fits/d0000/SKILL.md`, skill("fits", "d"));
    await wide(`${w}/over`, 2000);
    await write(`${w}/over/d0000/SKILL.md`, skill("found", "read before the limit"));
    await write(`${w}/over/d0000/deeper/SKILL.md`, skill("lost", "past the limit"));
    await wide(`${w}/ch/skills`, 2000);
    await write(`${w}/ch/skills/d0001/SKILL.md`, skill("found", "d"));
    await write(`${w}/ch/skills/d0001/s/SKILL.md`, skill("lost", "d"));
  }, [
    call("capabilityRoots/discoverV1", (w) => ({
      roots: [{ id: "fits", path: u(w, "fits") }, { id: "over", path: u(w, "over") }],
    })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
  ], options()));

const bytes = (path: string, data: Uint8Array | string) =>
  write(path, "").then(() =>
    Deno.writeFile(path, typeof data === "string" ? new TextEncoder().encode(data) : data)
  );
const MiB = 1024 * 1024;

async function badFilesFixture(w: string): Promise<void> {
  const head = (name: string) => `---\nname: ${name}\ndescription: d\n---\n`;
  // Exactly 1 MiB is read, one byte more is not.
  await bytes(`${w}/ch/skills/max/SKILL.md`, head("max").padEnd(MiB, "x"));
  await bytes(`${w}/ch/skills/over/SKILL.md`, head("over").padEnd(MiB + 1, "x"));
  // Each way UTF-8 can fail: a bad lead byte, a bad second byte, a bad third, a cut-off sequence.
  await bytes(`${w}/ch/skills/u1/SKILL.md`, new Uint8Array([0x2d, 0xff]));
  await bytes(`${w}/ch/skills/u2/SKILL.md`, new Uint8Array([0x61, 0xed, 0xa0, 0x80]));
  await bytes(`${w}/ch/skills/u3/SKILL.md`, new Uint8Array([0xe2, 0x82, 0x41]));
  await bytes(`${w}/ch/skills/u4/SKILL.md`, new Uint8Array([0x61, 0x62, 0xf0, 0x90, 0x80]));
  // A usable skill whose openai.yaml is not: kept, without dependencies or policy.
  await write(`${w}/ch/skills/meta/SKILL.md`, head("meta"));
  await bytes(`${w}/ch/skills/meta/agents/openai.yaml`, new Uint8Array([0x70, 0x3a, 0xc3]));
  // Plugins: nested manifests are namespace manifests; a bad root manifest is read (and warned) twice.
  await write(`${w}/p/.codex-plugin/plugin.json`, '{"n":"top"}\n');
  await bytes(`${w}/p/mid/.codex-plugin/plugin.json`, new Uint8Array([0x7b, 0xff]));
  await bytes(`${w}/p/mid/leaf/.codex-plugin/plugin.json`, new Uint8Array([0x7b, 0xfe]));
  await write(`${w}/p/mid/leaf/z/.codex-plugin/plugin.json`, '{"n":"z"}\n');
  await bytes(`${w}/p/mid/leaf/skills/x/SKILL.md`, new Uint8Array([0xc3]));
  await write(`${w}/p/mid/leaf/skills/y/SKILL.md`, head("y"));
  await bytes(`${w}/p/mid/leaf/a/.codex-plugin/plugin.json`, "{}".padEnd(MiB + 1, " "));
  await write(`${w}/good/.codex-plugin/plugin.json`, "{}\n");
  await bytes(`${w}/good/.mcp.json`, new Uint8Array([0x7b, 0xc3, 0x7d]));
  await write(`${w}/good/.app.json`, '{"apps":{}}\n');
  await write(`${w}/good/inner/.codex-plugin/plugin.json`, '{"n":"inner"}\n');
}

Deno.test("files over 1 MiB or not UTF-8 are left out: V1 warns for each, V2 calls itself incomplete", () =>
  compare(badFilesFixture, [
    ...handshake,
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
    call("capabilityRoots/discoverV1", (w) => ({
      roots: [
        { id: "skills", path: u(w, "ch/skills") },
        { id: "leaf", path: u(w, "p/mid/leaf") },
        { id: "mid", path: u(w, "p/mid") },
        { id: "top", path: u(w, "p") },
        { id: "good", path: u(w, "good") },
        { id: "below", path: u(w, "good/inner/.codex-plugin") },
      ],
    })),
  ], options({ handshake: false })));

Deno.test("capabilityRoots/discoverV1 params errors are -32602", () =>
  compare(() => {}, [
    call("capabilityRoots/discoverV1", () => null),
    call("capabilityRoots/discoverV1", () => ({})),
    call("capabilityRoots/discoverV1", () => ({ roots: null })),
    call("capabilityRoots/discoverV1", () => ({ roots: ["file:///x"] })),
    call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: "s" })),
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ path: u(w) }] })),
    call("capabilityRoots/discoverV1", () => ({ roots: [{ id: "x" }] })),
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: "x", path: w }] })),
    call("capabilityRoots/discoverV1", () => ({ roots: [{ id: "x", path: "http://x/y" }] })),
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: 5, path: u(w) }] }), "code"),
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: "x", path: u(w), sandbox: 5 }] }), "code"),
    ...handshake,
    call("capabilityRoots/discoverV1", (w) => ({ roots: [{ id: "x", path: w }] })),
  ], options({ handshake: false })));

function restricted(w: string, entries: Json[]): Json {
  return {
    permissions: {
      type: "managed",
      file_system: { type: "restricted", entries },
      network: "restricted",
    },
    cwd: u(w),
    windowsSandboxLevel: "disabled",
  };
}
const rootReadable: Json = { path: { type: "special", value: { kind: "root" } }, access: "read" };
const readable = (uri: string): Json => ({ path: { type: "path", path: uri }, access: "read" });
const usrOnly = readable("file:///usr");

Deno.test({
  ignore: !bwrapAvailable() && Deno.env.get("CI") !== "true",
  name: "discovery honours a restricted sandbox: a readable root scans, an unreadable one is missing",
  fn: () =>
    // Skills in CODEX_HOME only: under load 0.171 now and then leaves out the second skill root
    // (~/.agents/skills) of a sandboxed discoverV2, so the fixture has none.
    compare(async (w) => {
      await rootsFixture(w);
      await write(`${w}/ch/skills/s2/SKILL.md`, skill("s2", "second skill"));
      await write(`${w}/ch/skills/s2/agents/openai.yaml`, "policy:\n  allow_implicit_invocation: false\n");
      await write(`${w}/ch/skills/s3/SKILL.md`, skill("s3", "third skill"));
    }, [
      call("capabilityRoots/discoverV1", (w) => ({
        roots: [
          { id: "open", path: u(w, "r/sub"), sandbox: restricted(w, [rootReadable]) },
          { id: "usr", path: u(w, "r/sub"), sandbox: restricted(w, [usrOnly]) },
          // Only one skill readable: the root exists (as the mount's parent) and lists just that skill.
          { id: "one", path: u(w, "ch/skills"), sandbox: restricted(w, [readable(u(w, "ch/skills/s2"))]) },
        ],
      })),
      call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: restricted(w, [usrOnly]) })),
      call("capabilities/discoverV2", (w) => ({ cwd: u(w), sandbox: restricted(w, [rootReadable]) })),
      call("capabilities/discoverV2", (w) => ({
        cwd: u(w),
        sandbox: restricted(w, [readable(u(w, "ch/skills/s2")), readable(u(w, "home"))]),
      })),
    ], options()),
});

const CONFIG = 'model = "parity-model"\n\n[mcp_servers.foo]\ncommand = "echo"\nargs = ["a"]\n\n' +
  '[mcp_servers.bar]\nurl = "http://127.0.0.1:1/mcp"\n\n[profiles.a]\nx = { y = 1, z = "q" }\n\n' +
  "[[arr]]\nk = 1\n\n[[arr]]\nk = 2\n";
const configRead = (configPaths: Json, requirementsPaths: Json = []) =>
  call("environmentConfig/read", (w) => ({ cwd: u(w), configPaths, requirementsPaths }));

Deno.test("environmentConfig/read returns the selected keys of CODEX_HOME/config.toml re-serialised", () =>
  compare(async (w) => {
    await write(`${w}/ch/config.toml`, CONFIG);
    // A project config in a git cwd adds no layer.
    await Deno.mkdir(`${w}/.git`);
    await write(`${w}/.codex/config.toml`, 'model = "project"\n');
  }, [
    configRead([["model"]]),
    ...handshake,
    configRead([["mcp_servers"]]),
    configRead([["model"]]),
    configRead([["mcp_servers", "foo", "command"], ["nope"]]),
    configRead([["model"], ["mcp_servers", "bar"], ["model"]]),
    configRead([["mcp_servers", "foo"], ["mcp_servers"]]),
    configRead([["model", "x"]]),
    configRead([["profiles"], ["arr"]]),
    configRead([["profiles", "a", "x", "y"]]),
    configRead([["nope"]]),
    configRead([], [["mcp_servers"]]),
    { act: (w) => Deno.remove(`${w}/ch/config.toml`) },
    configRead([["model"]]),
  ], options({ handshake: false })));

Deno.test("environmentConfig/read params errors are -32602, a broken config.toml -32603", () =>
  compare(async (w) => {
    await write(`${w}/ch/config.toml`, "model = \n");
  }, [
    call("environmentConfig/read", () => null),
    call("environmentConfig/read", (w) => ({ cwd: u(w) })),
    call("environmentConfig/read", (w) => ({ cwd: u(w), configPaths: [["model"]] })),
    call("environmentConfig/read", () => ({ configPaths: [["model"]], requirementsPaths: [] })),
    call("environmentConfig/read", (w) => ({ cwd: w, configPaths: [["model"]], requirementsPaths: [] })),
    configRead(["mcp_servers"]),
    { ...configRead([[5]]), only: "code" },
    call("initialize", () => ({ clientName: "diff", resumeSessionId: null }), "ok"),
    configRead([["model"]]),
    { notify: "initialized" },
    configRead([], []),
    configRead([[]]),
    configRead([["model"]], [[]]),
    call("environmentConfig/read", (w) => ({ cwd: w, configPaths: [["model"]], requirementsPaths: [] })),
    { ...configRead([["model"]]), only: "code" },
  ], options({ handshake: false })));

/** Values in every form the `toml` crate chooses between (string quoting, floats, dates, table layout). */
const VALUES = String.raw`plain = "it's"
tab = "tab	here"
backslash = "back\\slash"
dquote = "q\"\ttab"
dq_end = "ends\""
both = "x'''y\"z"
back_single = "back\\ and 'single'"
triple_dq = "\"\"\"triple"
multi = "line1\nq\"uote"
multi_back = "l1\nback\\"
multi_triple = "l\n\"\"\"t"
cr = "cr\r"
empty = ""
whole = 1.0
frac = 1.5
exp = 1e10
inf = inf
big = 9007199254740993
neg = -3
date = 1979-05-27T07:32:00Z
local_date = 1979-05-27
local_time = 07:32:00
offset = 1979-05-27T00:32:00-07:00
"dotted.key" = 1
"sp ace" = 2
empty_array = []
nested = [[1, 2], ["a"]]
tables = [{ a = 1 }, { b = "x" }]
inline = { a = { b = 1 }, c = 2 }
deep = [{ a = { b = 1 } }]
[empty_table]
[t]
arr = [1, 2, 3]
[t.sub]
x = true
`;

Deno.test("environmentConfig/read writes each string, number, date and table as the toml crate does", () =>
  compare(async (w) => {
    await write(`${w}/ch/config.toml`, VALUES);
  }, [
    ...handshake,
    configRead(
      VALUES.split("\n").map((line) => /^("[^"]+"|[a-z_]+) = /.exec(line)?.[1]).filter((k) => k !== undefined)
        .map((k) => [k.replaceAll('"', "")]).concat([["empty_table"], ["t"]]),
    ),
  ], options()));

/**
 * Runs both servers with `W/etc` (a copy of `/etc`) mounted over `/etc` in a private mount namespace, so
 * `/etc/codex/*.toml` come from the fixture without touching the host's `/etc`. Needs root and unshare.
 */
function privateEtc(w: string): string[] {
  const copied = new Deno.Command("cp", { args: ["-a", "/etc", `${w}/etc`] }).outputSync();
  if (!copied.success) throw new Error(`cp -a /etc: ${new TextDecoder().decode(copied.stderr)}`);
  Deno.mkdirSync(`${w}/etc/codex`, { recursive: true });
  const script = 'mount --bind "$0" /etc && exec "$@"';
  return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, `${w}/etc`];
}

function canUnshareMounts(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("unshare", { args: ["--mount", "true"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  ignore: !canUnshareMounts() && Deno.env.get("CI") !== "true",
  name: "environmentConfig/read layers: system, user, legacy managed config and /etc/codex/requirements.toml",
  fn: () =>
    compare(async (w) => {
      await write(
        `${w}/etc/codex/config.toml`,
        'model = "system-model"\n[mcp_servers.sys]\ncommand = "sys"\n',
      );
      await write(`${w}/etc/codex/managed_config.toml`, 'model = "managed-model"\n');
      await write(
        `${w}/etc/codex/requirements.toml`,
        'allowed_approval_policies = ["never"]\n[mcp_servers.req]\nidentity = { command = "x" }\n',
      );
      await write(`${w}/ch/config.toml`, CONFIG);
      // Not read: requirements and managed config in CODEX_HOME.
      await write(`${w}/ch/requirements.toml`, 'allowed_approval_policies = ["home"]\n');
      await write(`${w}/ch/managed_config.toml`, 'model = "home-managed"\n');
    }, [
      ...handshake,
      configRead([["model"], ["mcp_servers"]], [["allowed_approval_policies"], ["mcp_servers"]]),
      // A table on the way is kept even when the key below it is missing.
      configRead([["mcp_servers", "foo"]], [["mcp_servers", "zz"]]),
      configRead([["mcp_servers", "sys"]], [["nope"]]),
      configRead([], [["nope"]]),
      { act: (w) => Deno.remove(`${w}/etc/codex/config.toml`) },
      configRead([["model"]], [["allowed_approval_policies"]]),
      { act: (w) => Deno.remove(`${w}/ch/config.toml`) },
      configRead([["model"]], [["allowed_approval_policies"]]),
    ], { ...options(), wrap: privateEtc }),
});

Deno.test({
  ignore: !canUnshareMounts() && Deno.env.get("CI") !== "true",
  name: "capabilities/discoverV2 also lists /etc/codex/skills as system-skills, after the user's",
  fn: () =>
    compare(async (w) => {
      await write(`${w}/etc/codex/skills/sysk/SKILL.md`, skill("sysk", "machine skill"));
      await write(`${w}/etc/codex/skills/bad/SKILL.md`, "no front matter\n");
      await write(`${w}/ch/skills/s1/SKILL.md`, skill("s1", "codex home skill"));
      await write(`${w}/home/.agents/skills/usk/SKILL.md`, skill("usk", "user agent skill"));
    }, [
      ...handshake,
      call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
    ], { ...options(), wrap: privateEtc }),
});

async function pluginsFixture(w: string): Promise<void> {
  const cache = `${w}/ch/plugins/cache`;
  const plugin = async (path: string, manifest: string, skillsDir = "skills") => {
    await write(`${cache}/${path}/.codex-plugin/plugin.json`, manifest);
    await write(`${cache}/${path}/${skillsDir}/s/SKILL.md`, skill("s", `in ${path}`));
  };
  await plugin("mk/plain/1.0.0", '{"name":"plain","version":"1.0.0"}\n');
  // The highest version directory wins, numbers compared as numbers; the manifest's version is not used.
  await plugin("mk/versions/9.0.0", '{"name":"versions"}\n');
  await plugin("mk/versions/10.0.0", '{"name":"versions","version":"0.0.1"}\n');
  await plugin("mk/versions/2.0.0-beta", '{"name":"versions"}\n');
  // Display name, skill prefix from the manifest; custom and listed skill directories; MCP and apps files.
  await plugin("mk/named/1.0.0", '{"name":"other-name","interface":{"displayName":"Pretty"}}\n');
  await plugin("mk/custom/1.0.0", '{"name":"custom","skills":["./more/","./skills"]}\n', "more");
  await write(`${cache}/mk/custom/1.0.0/skills/t/SKILL.md`, skill("t", "default dir too"));
  await write(`${cache}/mk/custom/1.0.0/.mcp.json`, '{"mcpServers":{}}\n');
  await write(`${cache}/mk/custom/1.0.0/.app.json`, '{"apps":{}}\n');
  await plugin("mk/nameless/1.0.0", "{}\n");
  await write(`${cache}/mk/nameless/1.0.0/skills/s/agents/openai.yaml`, "policy:\n  products: [codex]\n");
  await plugin("other/p/1.0.0", '{"name":"p"}\n');
  // Skipped silently: hidden marketplaces and plugins, files. Skipped with a warning each: no manifest,
  // a manifest that is not JSON, no version directory; a bad skill warns once for its plugin.
  await plugin(".hidden/h/1.0.0", '{"name":"h"}\n');
  await plugin("mk/.hidden/1.0.0", '{"name":"h"}\n');
  await write(`${cache}/mk/afile`, "x\n");
  await Deno.mkdir(`${cache}/mk/nomanifest/1.0.0/skills`, { recursive: true });
  await write(`${cache}/mk/badjson/1.0.0/.codex-plugin/plugin.json`, "{bad\n");
  await write(`${cache}/mk/noversion/.codex-plugin/plugin.json`, "{}\n");
  await write(`${cache}/mk/plain/1.0.0/skills/bad/SKILL.md`, "no front matter\n");
  await write(`${cache}/mk/plain/1.0.0/skills/bad2/SKILL.md`, "no front matter\n");
  // Enabling or disabling in config.toml does not change the list.
  await write(`${w}/ch/config.toml`, '[plugins."p@other"]\nenabled = false\n');
}

Deno.test("capabilities/discoverV2 lists every installed plugin of CODEX_HOME/plugins/cache with its skills", () =>
  // The plugins exist before the servers start: 0.171 started without a plugin cache later reports fewer
  // warnings for the broken ones (one instead of one each).
  compare(() => {}, [
    ...handshake,
    call("capabilities/discoverV2", (w) => ({ cwd: u(w) })),
  ], {
    ...options(),
    env: async (w) => {
      const env = homes(w);
      await pluginsFixture(w);
      return env;
    },
  }));
