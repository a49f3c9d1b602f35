import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../src/config/config_error.ts";
import { type EnvironmentsConfig, parseEnvironmentsToml, rustTrim } from "../src/config/environments_toml.ts";
import { environmentsFromExecServerUrl, loadEnvironments } from "../src/config/load_environments.ts";
import { MAX_TIMER_MS } from "../src/util/timers.ts";

const HOME = "/home/u/.codex";
const PATH = `${HOME}/environments.toml`;
const LONG_64 = "a".repeat(64);
const LONG_65 = "a".repeat(65);
/** Codex 0.171's entry keys, in its message order. */
const CODEX_ENTRY_KEYS = "`id`, `skills`, `url`, `auth_bearer_token`, `program`, `args`, `env`, `cwd`, " +
  "`connect_timeout_sec`, `initialize_timeout_sec`";

function parse(text: string): EnvironmentsConfig {
  return parseEnvironmentsToml(text, { path: PATH, configDir: HOME });
}

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err;
  }
  assert.fail("expected a ConfigError");
}

interface ErrorCase {
  name: string;
  toml: string;
  /** Codex's exact message text. */
  reason: string;
  kind?: "shape" | "validation";
  entryIndex?: number;
  entryId?: string;
  keys?: string[];
  line?: number;
}

/** Checks kind, the verbatim reason, and that the message names file, entry and key. */
function assertErrorCase(c: ErrorCase, err: ConfigError): void {
  const kind = c.kind ?? "validation";
  assert.equal(err.kind, kind, c.name);
  assert.equal(err.reason, c.reason, c.name);
  assert.ok(err.message.includes(c.reason), `${c.name}: message lacks reason: ${err.message}`);
  assert.ok(err.message.includes(PATH), `${c.name}: message lacks path: ${err.message}`);
  if (kind === "shape") assert.ok(err.message.startsWith(`failed to parse environment config \`${PATH}\`: `));
  assert.equal(err.entryIndex, c.entryIndex, c.name);
  assert.equal(err.entryId, c.entryId, c.name);
  assert.deepEqual(err.keys, c.keys, c.name);
  if (c.entryIndex !== undefined) {
    const entry = `environments[${c.entryIndex}]` + (c.entryId === undefined ? "" : ` (id \`${c.entryId}\`)`);
    assert.ok(err.message.includes(entry), `${c.name}: message lacks entry: ${err.message}`);
  }
  for (const key of c.keys ?? []) {
    assert.ok(err.message.includes(`\`${key}\``), `${c.name}: lacks key ${key}`);
  }
  if (c.line !== undefined) assert.equal(err.line, c.line, c.name);
}

const ws = (id: string, extra = "") =>
  `[[environments]]\nid = ${JSON.stringify(id)}\nurl = "ws://127.0.0.1:8765"\n${extra}`;

// Section 1.3, per-entry rules in order, plus the cross-entry rules.
const VALIDATION_CASES: ErrorCase[] = [
  // 1. Id.
  {
    name: "empty id",
    toml: ws(""),
    reason: "environment id cannot be empty",
    entryIndex: 0,
    entryId: "",
    keys: ["id"],
  },
  {
    name: "blank id",
    toml: ws("  \t"),
    reason: "environment id cannot be empty",
    entryIndex: 0,
    entryId: "  \t",
    keys: ["id"],
  },
  {
    name: "leading whitespace id",
    toml: ws(" dev"),
    reason: "environment id ` dev` must not contain surrounding whitespace",
    entryIndex: 0,
    entryId: " dev",
    keys: ["id"],
  },
  {
    name: "trailing whitespace id",
    toml: ws("dev "),
    reason: "environment id `dev ` must not contain surrounding whitespace",
    entryIndex: 0,
    entryId: "dev ",
    keys: ["id"],
  },
  {
    name: "local id",
    toml: ws("local"),
    reason: "environment id `local` is reserved",
    entryIndex: 0,
    entryId: "local",
    keys: ["id"],
  },
  {
    name: "none id",
    toml: ws("none"),
    reason: "environment id `none` is reserved",
    entryIndex: 0,
    entryId: "none",
    keys: ["id"],
  },
  {
    name: "NONE id",
    toml: ws("NONE"),
    reason: "environment id `NONE` is reserved",
    entryIndex: 0,
    entryId: "NONE",
    keys: ["id"],
  },
  {
    name: "65-character id",
    toml: ws(LONG_65),
    reason: `environment id \`${LONG_65}\` cannot be longer than 64 characters`,
    entryIndex: 0,
    entryId: LONG_65,
    keys: ["id"],
  },
  {
    // Codex counts UTF-8 bytes and checks length before the character set.
    name: "33 two-byte characters",
    toml: ws("é".repeat(33)),
    reason: `environment id \`${"é".repeat(33)}\` cannot be longer than 64 characters`,
    entryIndex: 0,
    entryId: "é".repeat(33),
    keys: ["id"],
  },
  {
    name: "dotted id",
    toml: ws("dev.box"),
    reason: "environment id `dev.box` must contain only ASCII letters, numbers, '-' or '_'",
    entryIndex: 0,
    entryId: "dev.box",
    keys: ["id"],
  },
  {
    name: "inner space id",
    toml: ws("dev box"),
    reason: "environment id `dev box` must contain only ASCII letters, numbers, '-' or '_'",
    entryIndex: 0,
    entryId: "dev box",
    keys: ["id"],
  },
  // 2. args/env/cwd require program.
  {
    name: "args with url",
    toml: ws("dev", "args = []"),
    reason: "environment `dev` args, env, and cwd require program",
    entryIndex: 0,
    entryId: "dev",
    keys: ["args"],
    line: 4,
  },
  {
    name: "env alone",
    toml: `[[environments]]\nid = "dev"\nenv = { A = "1" }`,
    reason: "environment `dev` args, env, and cwd require program",
    entryIndex: 0,
    entryId: "dev",
    keys: ["env"],
  },
  {
    name: "cwd with url",
    toml: ws("dev", 'cwd = "/tmp"'),
    reason: "environment `dev` args, env, and cwd require program",
    entryIndex: 0,
    entryId: "dev",
    keys: ["cwd"],
  },
  // 3. connect_timeout_sec requires url.
  {
    name: "connect timeout on stdio",
    toml: `[[environments]]\nid = "ssh-dev"\nprogram = "ssh"\nconnect_timeout_sec = 1`,
    reason: "environment `ssh-dev` connect_timeout_sec requires url",
    entryIndex: 0,
    entryId: "ssh-dev",
    keys: ["connect_timeout_sec"],
    line: 4,
  },
  {
    name: "connect timeout with neither url nor program (rule 3 before 4)",
    toml: `[[environments]]\nid = "dev"\nconnect_timeout_sec = 1`,
    reason: "environment `dev` connect_timeout_sec requires url",
    entryIndex: 0,
    entryId: "dev",
    keys: ["connect_timeout_sec"],
  },
  // 4. Exactly one of url and program.
  {
    name: "url and program",
    toml: ws("dev", 'program = "codex"'),
    reason: "environment `dev` must set exactly one of url or program",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url", "program"],
  },
  {
    name: "neither url nor program",
    toml: `[[environments]]\nid = "dev"`,
    reason: "environment `dev` must set exactly one of url or program",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url", "program"],
    line: 1,
  },
  // 5. The URL.
  {
    name: "blank url",
    toml: `[[environments]]\nid = "dev"\nurl = "  "`,
    reason: "environment url cannot be empty",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url"],
    line: 3,
  },
  {
    name: "http url",
    toml: `[[environments]]\nid = "dev"\nurl = "http://127.0.0.1:8765"`,
    reason: "environment url `http://127.0.0.1:8765` must use ws:// or wss://",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url"],
  },
  {
    name: "upper-case scheme",
    toml: `[[environments]]\nid = "dev"\nurl = "WS://127.0.0.1:8765"`,
    reason: "environment url `WS://127.0.0.1:8765` must use ws:// or wss://",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url"],
  },
  {
    name: "trimmed url in message",
    toml: `[[environments]]\nid = "dev"\nurl = "  ftp://x  "`,
    reason: "environment url `ftp://x` must use ws:// or wss://",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url"],
  },
  {
    name: "bare ws://",
    toml: `[[environments]]\nid = "dev"\nurl = "ws://"`,
    reason: "environment url `ws://` is invalid: HTTP format error: empty string",
    entryIndex: 0,
    entryId: "dev",
    keys: ["url"],
  },
  // 6. The program.
  {
    name: "blank program",
    toml: `[[environments]]\nid = "dev"\nprogram = " "`,
    reason: "environment `dev` program cannot be empty",
    entryIndex: 0,
    entryId: "dev",
    keys: ["program"],
  },
  // Across entries.
  {
    name: "duplicate id",
    toml: `${ws("dev")}\n[[environments]]\nid = "dev"\nprogram = "codex"`,
    reason: "environment id `dev` is duplicated",
    entryIndex: 1,
    entryId: "dev",
    keys: ["id"],
    line: 6,
  },
  {
    name: "empty default",
    toml: `default = ""`,
    reason: "default environment id cannot be empty",
    keys: ["default"],
  },
  {
    name: "blank default",
    toml: `default = "  "`,
    reason: "default environment id cannot be empty",
    keys: ["default"],
  },
  {
    name: "unknown default",
    toml: `default = "missing"\n${ws("dev")}`,
    reason: "default environment `missing` is not configured",
    keys: ["default"],
    line: 1,
  },
  {
    name: "unknown default is trimmed",
    toml: `default = " missing "`,
    reason: "default environment `missing` is not configured",
    keys: ["default"],
  },
  {
    name: "LOCAL default",
    toml: `default = "LOCAL"`,
    reason: "default environment `LOCAL` is not configured",
    keys: ["default"],
  },
  {
    name: "local default without include_local",
    toml: `default = "local"\ninclude_local = false\n${ws("dev")}`,
    reason: "default environment `local` is not configured",
    keys: ["default"],
  },
  {
    name: "default is case-sensitive",
    toml: `default = "Dev"\n${ws("dev")}`,
    reason: "default environment `Dev` is not configured",
    keys: ["default"],
  },
];

for (const c of VALIDATION_CASES) {
  Deno.test(`parseEnvironmentsToml() rejects ${c.name} with Codex's message`, () => {
    assertErrorCase(c, catchConfigError(() => parse(c.toml)));
  });
}

Deno.test("parseEnvironmentsToml() validation messages name file, entry, key and line", () => {
  const err = catchConfigError(() => parse(ws("dev", "args = []")));
  assert.equal(
    err.message,
    `${PATH}: environments[0] (id \`dev\`), key \`args\` (line 4): environment \`dev\` args, env, and cwd require program`,
  );
  const dup = catchConfigError(() => parse(`${ws("dev")}\n[[environments]]\nid = "dev"\nprogram = "codex"`));
  assert.match(dup.message, /is duplicated \(first defined by environments\[0\]\)$/);
});

// Section 1.2: unknown keys, wrong types and bad durations are TOML (shape) errors.
const SHAPE_CASES: ErrorCase[] = [
  {
    name: "unknown entry key name",
    toml: ws("dev", 'name = "Dev"'),
    reason: `unknown field \`name\`, expected one of ${CODEX_ENTRY_KEYS}` +
      " (exec-server extensions: `auth_token_file`, `auth_token_env`, `tls_ca_file`)",
    entryIndex: 0,
    entryId: "dev",
    keys: ["name"],
    line: 4,
  },
  {
    name: "unknown entry key command",
    toml: `[[environments]]\nid = "dev"\ncommand = "ssh"`,
    reason: `unknown field \`command\`, expected one of ${CODEX_ENTRY_KEYS}` +
      " (exec-server extensions: `auth_token_file`, `auth_token_env`, `tls_ca_file`)",
    entryIndex: 0,
    entryId: "dev",
    keys: ["command"],
  },
  {
    name: "unknown top-level key",
    toml: `bogus = 1`,
    reason: "unknown field `bogus`, expected one of `default`, `include_local`, `environments`",
    keys: ["bogus"],
    line: 1,
  },
  {
    name: "args not a list",
    toml: `[[environments]]\nid = "dev"\nprogram = "ssh"\nargs = "notalist"`,
    reason: 'invalid type: string "notalist", expected a sequence',
    entryIndex: 0,
    entryId: "dev",
    keys: ["args"],
  },
  {
    name: "non-string arg",
    toml: `[[environments]]\nid = "dev"\nprogram = "ssh"\nargs = ["a", 2]`,
    reason: "invalid type: integer `2`, expected a string",
    entryIndex: 0,
    entryId: "dev",
    keys: ["args"],
  },
  {
    name: "non-string env value",
    toml: `[[environments]]\nid = "dev"\nprogram = "ssh"\nenv = { A = true }`,
    reason: "invalid type: boolean `true`, expected a string",
    entryIndex: 0,
    entryId: "dev",
    keys: ["env"],
  },
  {
    name: "include_local not a bool",
    toml: `include_local = "yes"`,
    reason: 'invalid type: string "yes", expected a boolean',
    keys: ["include_local"],
  },
  {
    name: "numeric id",
    toml: `[[environments]]\nid = 5\nurl = "ws://h"`,
    reason: "invalid type: integer `5`, expected a string",
    entryIndex: 0,
    keys: ["id"],
  },
  {
    name: "missing id",
    toml: `[[environments]]\nurl = "ws://h"`,
    reason: "missing field `id`",
    entryIndex: 0,
    keys: ["id"],
  },
  {
    name: "string timeout",
    toml: ws("dev", 'connect_timeout_sec = "10"'),
    reason: 'invalid type: string "10", expected f64',
    entryIndex: 0,
    entryId: "dev",
    keys: ["connect_timeout_sec"],
  },
  {
    name: "negative timeout",
    toml: ws("dev", "initialize_timeout_sec = -1"),
    reason: "cannot convert float seconds to Duration: value is negative",
    entryIndex: 0,
    entryId: "dev",
    keys: ["initialize_timeout_sec"],
  },
  {
    name: "negative infinity timeout",
    toml: ws("dev", "initialize_timeout_sec = -inf"),
    reason: "cannot convert float seconds to Duration: value is negative",
    entryIndex: 0,
    entryId: "dev",
    keys: ["initialize_timeout_sec"],
  },
  {
    name: "infinite timeout",
    toml: ws("dev", "connect_timeout_sec = inf"),
    reason: "cannot convert float seconds to Duration: value is either too big or NaN",
    entryIndex: 0,
    entryId: "dev",
    keys: ["connect_timeout_sec"],
  },
  {
    name: "1e30 timeout",
    toml: ws("dev", "connect_timeout_sec = 1e30"),
    reason: "cannot convert float seconds to Duration: value is either too big or NaN",
    entryIndex: 0,
    entryId: "dev",
    keys: ["connect_timeout_sec"],
  },
  {
    name: "NaN timeout",
    toml: ws("dev", "initialize_timeout_sec = nan"),
    reason: "cannot convert float seconds to Duration: value is either too big or NaN",
    entryIndex: 0,
    entryId: "dev",
    keys: ["initialize_timeout_sec"],
  },
];

for (const c of SHAPE_CASES) {
  Deno.test(`parseEnvironmentsToml() rejects ${c.name} as a parse error`, () => {
    assertErrorCase({ ...c, kind: "shape" }, catchConfigError(() => parse(c.toml)));
  });
}

Deno.test("parseEnvironmentsToml() reports TOML syntax errors with line and column", () => {
  const err = catchConfigError(() => parse(`[[environments]]\nid = "dev"\nurl = `));
  assert.equal(err.kind, "syntax");
  assert.equal(err.line, 3);
  assert.match(
    err.message,
    /^failed to parse environment config `\/home\/u\/\.codex\/environments\.toml`: TOML parse error at line 3, column \d+: /,
  );
  const dup = catchConfigError(() => parse(`default = "a"\ndefault = "b"`));
  assert.equal(dup.kind, "syntax");
  assert.match(dup.message, /TOML parse error at line 2/);
});

// Validation order: earlier rules, earlier entries and shape errors win, like Codex.
const ORDER_CASES: { name: string; toml: string; reason: string }[] = [
  {
    name: "id before args rule",
    toml: ws("dev.box", "args = []"),
    reason: "environment id `dev.box` must contain only ASCII letters, numbers, '-' or '_'",
  },
  {
    name: "args rule before connect rule",
    toml: `[[environments]]\nid = "dev"\nargs = []\nconnect_timeout_sec = 1`,
    reason: "environment `dev` args, env, and cwd require program",
  },
  {
    name: "exactly-one before url rule",
    toml: `[[environments]]\nid = "dev"\nurl = "http://x"\nprogram = "ssh"`,
    reason: "environment `dev` must set exactly one of url or program",
  },
  {
    name: "entry 0 before entry 1",
    toml: `[[environments]]\nid = "a"\nprogram = " "\n[[environments]]\nid = "local"\nurl = "ws://h"`,
    reason: "environment `a` program cannot be empty",
  },
  {
    name: "shape errors anywhere before validation errors",
    toml:
      `[[environments]]\nid = "local"\nurl = "ws://h"\n[[environments]]\nid = "b"\nurl = "ws://h"\nname = "x"`,
    reason: `unknown field \`name\`, expected one of ${CODEX_ENTRY_KEYS}` +
      " (exec-server extensions: `auth_token_file`, `auth_token_env`, `tls_ca_file`)",
  },
  {
    name: "first shape error in document order",
    toml: `[[environments]]\nid = "a"\nzeta = 1\nurl = 5\nalpha = 2`,
    reason: `unknown field \`zeta\`, expected one of ${CODEX_ENTRY_KEYS}` +
      " (exec-server extensions: `auth_token_file`, `auth_token_env`, `tls_ca_file`)",
  },
  {
    name: "present keys before missing id",
    toml: `[[environments]]\nurl = 5`,
    reason: "invalid type: integer `5`, expected a string",
  },
  {
    name: "duplicate before default",
    toml: `default = "nope"\n${ws("dev")}\n${ws("dev")}`,
    reason: "environment id `dev` is duplicated",
  },
];

for (const c of ORDER_CASES) {
  Deno.test(`parseEnvironmentsToml() validation order: ${c.name}`, () => {
    assert.equal(catchConfigError(() => parse(c.toml)).reason, c.reason);
  });
}

Deno.test("parseEnvironmentsToml() accepts ids at the edge of the rules", () => {
  const config = parse(
    [ws(LONG_64), ws("LOCAL"), ws("dev"), ws("Dev"), ws("a_b-9")].join("\n"),
  );
  assert.deepEqual(config.environments.map((e) => e.id), [LONG_64, "LOCAL", "dev", "Dev", "a_b-9"]);
});

Deno.test("parseEnvironmentsToml() resolves defaults at parse time", () => {
  assert.deepEqual(parse(""), {
    defaultId: "local",
    includeLocal: true,
    environments: [],
    source: { kind: "file", path: PATH },
  });
  const config = parse(
    `[[environments]]\nid = "w"\nurl = "  ws://h:1/p  "\n[[environments]]\nid = "s"\nprogram = "  ssh  "`,
  );
  assert.deepEqual(config.environments, [
    { kind: "websocket", id: "w", url: "ws://h:1/p", connectTimeoutMs: 10_000, initializeTimeoutMs: 10_000 },
    { kind: "stdio", id: "s", program: "ssh", args: [], env: {}, initializeTimeoutMs: 10_000 },
  ]);
});

const DEFAULT_CASES: { name: string; toml: string; defaultId: string | null; includeLocal: boolean }[] = [
  { name: "omitted with local", toml: "", defaultId: "local", includeLocal: true },
  { name: "omitted without local", toml: "include_local = false", defaultId: null, includeLocal: false },
  { name: "none", toml: `default = "none"`, defaultId: null, includeLocal: true },
  { name: "NoNe padded", toml: `default = " NoNe "`, defaultId: null, includeLocal: true },
  { name: "local explicitly", toml: `default = "local"`, defaultId: "local", includeLocal: true },
  {
    name: "remote, trimmed",
    toml: `default = " dev "\ninclude_local = false\n${ws("dev")}`,
    defaultId: "dev",
    includeLocal: false,
  },
  {
    name: "LOCAL as an id",
    toml: `default = "LOCAL"\n${ws("LOCAL")}`,
    defaultId: "LOCAL",
    includeLocal: true,
  },
];

for (const c of DEFAULT_CASES) {
  Deno.test(`parseEnvironmentsToml() default: ${c.name}`, () => {
    const config = parse(c.toml);
    assert.equal(config.defaultId, c.defaultId);
    assert.equal(config.includeLocal, c.includeLocal);
  });
}

const TIMEOUT_CASES: { value: string; ms: number }[] = [
  { value: "0", ms: 0 },
  { value: "0.0", ms: 0 },
  { value: "-0.0", ms: 0 },
  { value: "0.25", ms: 250 },
  { value: "3", ms: 3000 },
  { value: "0.7", ms: 700 },
  { value: "1.5e1", ms: 15_000 },
  { value: "0.0001", ms: 1 }, // a tiny positive timeout stays positive
  { value: "1e-12", ms: 0 }, // below 1 ns, like Duration
  { value: "100000000", ms: MAX_TIMER_MS }, // clamped to what setTimeout can express
  { value: "1e19", ms: MAX_TIMER_MS },
];

for (const c of TIMEOUT_CASES) {
  Deno.test(`parseEnvironmentsToml() timeout ${c.value} s resolves to ${c.ms} ms`, () => {
    const config = parse(
      `${ws("w", `connect_timeout_sec = ${c.value}\ninitialize_timeout_sec = ${c.value}`)}\n` +
        `[[environments]]\nid = "s"\nprogram = "ssh"\ninitialize_timeout_sec = ${c.value}`,
    );
    const [w, s] = config.environments;
    assert.equal(w.kind === "websocket" && w.connectTimeoutMs, c.ms);
    assert.equal(w.initializeTimeoutMs, c.ms);
    assert.equal(s.initializeTimeoutMs, c.ms);
  });
}

Deno.test("parseEnvironmentsToml() resolves stdio cwd against the config directory", () => {
  const config = parse(
    `[[environments]]\nid = "rel"\nprogram = "ssh"\ncwd = "sub/dir"\n` +
      `[[environments]]\nid = "abs"\nprogram = "ssh"\ncwd = "/srv/work"`,
  );
  assert.deepEqual(config.environments.map((e) => e.kind === "stdio" && e.cwd), [
    `${HOME}/sub/dir`,
    "/srv/work",
  ]);
});

Deno.test("parseEnvironmentsToml() keeps stdio args and env as given", () => {
  const [entry] = parse(
    `[[environments]]\nid = "s"\nprogram = "ssh"\nargs = ["-t", " spaced "]\nenv = { A = "1", "B C" = "" }`,
  ).environments;
  assert.deepEqual(entry, {
    kind: "stdio",
    id: "s",
    program: "ssh",
    args: ["-t", " spaced "],
    env: { A: "1", "B C": "" },
    initializeTimeoutMs: 10_000,
  });
});

// Extension keys.
Deno.test("parseEnvironmentsToml() parses the auth and TLS extension keys", () => {
  const config = parse(
    `${ws("a", `auth_token_file = "tokens/a"`)}\n` +
      `${ws("b", `auth_token_file = "/etc/token"`)}\n` +
      `[[environments]]\nid = "c"\nurl = "wss://h:443"\nauth_token_env = "C_TOKEN"\ntls_ca_file = "ca.pem"\n` +
      `[[environments]]\nid = "d"\nurl = "wss://h"\ntls_ca_file = "/etc/ca.pem"`,
  );
  assert.deepEqual(
    config.environments.map((e) =>
      e.kind === "websocket" && { authToken: e.authToken, tlsCaFile: e.tlsCaFile }
    ),
    [
      { authToken: { file: `${HOME}/tokens/a` }, tlsCaFile: undefined },
      { authToken: { file: "/etc/token" }, tlsCaFile: undefined },
      { authToken: { env: "C_TOKEN" }, tlsCaFile: `${HOME}/ca.pem` },
      { authToken: undefined, tlsCaFile: "/etc/ca.pem" },
    ],
  );
  // Absent extension keys leave no properties behind.
  assert.deepEqual(Object.keys(parse(ws("x")).environments[0]).sort(), [
    "connectTimeoutMs",
    "id",
    "initializeTimeoutMs",
    "kind",
    "url",
  ]);
});

const EXTENSION_ERROR_CASES: ErrorCase[] = [
  {
    name: "token file and token env together",
    toml: ws("dev", `auth_token_file = "t"\nauth_token_env = "T"`),
    reason: "environment `dev` auth_token_file and auth_token_env are mutually exclusive",
    entryIndex: 0,
    entryId: "dev",
    keys: ["auth_token_file", "auth_token_env"],
  },
  ...(["auth_token_file", "auth_token_env", "tls_ca_file"] as const).map((key): ErrorCase => ({
    name: `${key} on a stdio entry`,
    toml: `[[environments]]\nid = "dev"\nprogram = "ssh"\n${key} = "x"`,
    reason: `environment \`dev\` ${key} requires url`,
    entryIndex: 0,
    entryId: "dev",
    keys: [key],
    line: 4,
  })),
  {
    name: "tls_ca_file on ws://",
    toml: ws("dev", `tls_ca_file = "ca.pem"`),
    reason: "environment `dev` tls_ca_file requires a wss:// url",
    entryIndex: 0,
    entryId: "dev",
    keys: ["tls_ca_file"],
  },
  {
    name: "blank auth_token_file",
    toml: ws("dev", `auth_token_file = " "`),
    reason: "environment `dev` auth_token_file cannot be empty",
    entryIndex: 0,
    entryId: "dev",
    keys: ["auth_token_file"],
  },
  {
    name: "blank tls_ca_file",
    toml: `[[environments]]\nid = "dev"\nurl = "wss://h"\ntls_ca_file = ""`,
    reason: "environment `dev` tls_ca_file cannot be empty",
    entryIndex: 0,
    entryId: "dev",
    keys: ["tls_ca_file"],
  },
  {
    name: "invalid auth_token_env",
    toml: ws("dev", `auth_token_env = "A=B"`),
    reason: "environment `dev` auth_token_env `A=B` is not a valid environment variable name",
    entryIndex: 0,
    entryId: "dev",
    keys: ["auth_token_env"],
  },
  {
    name: "empty auth_token_env",
    toml: ws("dev", `auth_token_env = ""`),
    reason: "environment `dev` auth_token_env `` is not a valid environment variable name",
    entryIndex: 0,
    entryId: "dev",
    keys: ["auth_token_env"],
  },
];

for (const c of EXTENSION_ERROR_CASES) {
  Deno.test(`parseEnvironmentsToml() rejects extension misuse: ${c.name}`, () => {
    assertErrorCase(c, catchConfigError(() => parse(c.toml)));
  });
}

Deno.test("parseEnvironmentsToml() extension keys have the right types", () => {
  const err = catchConfigError(() => parse(ws("dev", "auth_token_env = 1")));
  assert.equal(err.kind, "shape");
  assert.equal(err.reason, "invalid type: integer `1`, expected a string");
});

// Section 1.5: a Codex user's existing files load unchanged.
Deno.test("parseEnvironmentsToml() loads Codex example 1 (local default plus a websocket box)", () => {
  const text = `# $CODEX_HOME/environments.toml
[[environments]]
id = "devbox"
url = "ws://127.0.0.1:8765"      # trimmed; ws:// or wss:// only
connect_timeout_sec = 3          # websocket only; default 10
initialize_timeout_sec = 5       # default 10
`;
  assert.deepEqual(parse(text), {
    defaultId: "local",
    includeLocal: true,
    environments: [{
      kind: "websocket",
      id: "devbox",
      url: "ws://127.0.0.1:8765",
      connectTimeoutMs: 3000,
      initializeTimeoutMs: 5000,
    }],
    source: { kind: "file", path: PATH },
  });
});

Deno.test("parseEnvironmentsToml() loads Codex example 2 (stdio over ssh, no local)", () => {
  const text = `default = "ssh-dev"
include_local = false

[[environments]]
id = "ssh-dev"
program = "ssh"                  # exec'd directly via PATH, no shell
args = ["dev.example", "codex exec-server --listen stdio"]
env = { CODEX_LOG = "debug" }    # merged over the inherited environment
cwd = "remote-work"              # relative, so $CODEX_HOME/remote-work
initialize_timeout_sec = 20      # connect_timeout_sec here would be an error
`;
  assert.deepEqual(parse(text), {
    defaultId: "ssh-dev",
    includeLocal: false,
    environments: [{
      kind: "stdio",
      id: "ssh-dev",
      program: "ssh",
      args: ["dev.example", "codex exec-server --listen stdio"],
      env: { CODEX_LOG: "debug" },
      cwd: `${HOME}/remote-work`,
      initializeTimeoutMs: 20_000,
    }],
    source: { kind: "file", path: PATH },
  });
});

Deno.test("parseEnvironmentsToml() loads Codex example 3 (no default, shell-wrapped stdio)", () => {
  const text = `default = "none"

[[environments]]
id = "wrapped_1"
program = "/bin/sh"
args = ["-c", "exec codex exec-server --listen stdio 2>>/var/log/exec-server.err"]
`;
  assert.deepEqual(parse(text), {
    defaultId: null,
    includeLocal: true,
    environments: [{
      kind: "stdio",
      id: "wrapped_1",
      program: "/bin/sh",
      args: ["-c", "exec codex exec-server --listen stdio 2>>/var/log/exec-server.err"],
      env: {},
      initializeTimeoutMs: 10_000,
    }],
    source: { kind: "file", path: PATH },
  });
});

Deno.test("parseEnvironmentsToml() parses environments.example.toml", async () => {
  const path = new URL("../environments.example.toml", import.meta.url);
  const dir = "/etc/exec-server";
  const config = parseEnvironmentsToml(await Deno.readTextFile(path), { path: "example", configDir: dir });
  assert.equal(config.defaultId, "local");
  assert.equal(config.includeLocal, true);
  assert.deepEqual(config.environments.map((e) => `${e.kind}:${e.id}`), [
    "websocket:devbox",
    "websocket:prod-box",
    "websocket:lab-box",
    "websocket:staging-box",
    "stdio:ssh-dev",
  ]);
  const [devbox, prod, lab, staging, ssh] = config.environments;
  assert.deepEqual(lab.kind === "websocket" && lab.authToken, { value: "replace-me" });
  assert.equal(devbox.kind === "websocket" && devbox.connectTimeoutMs, 3000);
  assert.deepEqual(prod.kind === "websocket" && [prod.authToken, prod.tlsCaFile], [
    { env: "PROD_EXEC_SERVER_TOKEN" },
    `${dir}/certs/internal-ca.pem`,
  ]);
  assert.deepEqual(staging.kind === "websocket" && staging.authToken, {
    file: `${dir}/tokens/staging.token`,
  });
  assert.equal(ssh.kind === "stdio" && ssh.cwd, `${dir}/remote-work`);
});

Deno.test("parseEnvironmentsToml() environments.example.toml minus extension lines is Codex-valid", async () => {
  // Codex rejects our extension keys; stripping them must leave a file that still parses.
  const text = (await Deno.readTextFile(new URL("../environments.example.toml", import.meta.url)))
    .split("\n")
    .filter((line) => !/^(auth_token_file|auth_token_env|tls_ca_file)\s*=/.test(line))
    .join("\n");
  const config = parse(text);
  for (const e of config.environments) {
    // What is left is Codex 0.171's own `auth_bearer_token`.
    assert.ok(!("tlsCaFile" in e), e.id);
    if (e.kind === "websocket" && e.authToken !== undefined) assert.ok("value" in e.authToken, e.id);
  }
});

Deno.test("parseEnvironmentsToml() rustTrim() matches Rust's whitespace set", () => {
  assert.equal(rustTrim("\u0085 a \u3000"), "a");
  assert.equal(rustTrim("\uFEFFa"), "\uFEFFa");
});

// Loading: file/env precedence with real temp files.
async function withCodexHome(
  files: Record<string, string>,
  fn: (home: string) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "exec-server-config-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(home, name), text);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("loadEnvironments() reads $CODEX_HOME/environments.toml and resolves cwd against CODEX_HOME", async () => {
  await withCodexHome(
    { "environments.toml": `[[environments]]\nid = "s"\nprogram = "ssh"\ncwd = "work"` },
    async (home) => {
      const config = await loadEnvironments({ env: { CODEX_HOME: home } });
      assert.deepEqual(config.source, { kind: "file", path: join(home, "environments.toml") });
      assert.equal(config.environments[0].kind === "stdio" && config.environments[0].cwd, join(home, "work"));
    },
  );
});

Deno.test("loadEnvironments() file wins over CODEX_EXEC_SERVER_URL, even when empty", async () => {
  await withCodexHome({ "environments.toml": "" }, async (home) => {
    const config = await loadEnvironments({
      codexHome: home,
      env: { CODEX_EXEC_SERVER_URL: "ws://127.0.0.1:1" },
    });
    assert.deepEqual(config, {
      defaultId: "local",
      includeLocal: true,
      environments: [],
      source: { kind: "file", path: join(home, "environments.toml") },
    });
  });
});

const LEGACY_CASES: { name: string; value: string | undefined; expected: EnvironmentsConfig }[] = [
  {
    name: "unset",
    value: undefined,
    expected: { defaultId: "local", includeLocal: true, environments: [], source: { kind: "none" } },
  },
  {
    name: "blank",
    value: "   ",
    expected: { defaultId: "local", includeLocal: true, environments: [], source: { kind: "none" } },
  },
  {
    name: "none in any case, trimmed",
    value: " NONE ",
    expected: {
      defaultId: null,
      includeLocal: false,
      environments: [],
      source: { kind: "env", value: "NONE" },
    },
  },
  {
    name: "a URL becomes `remote` without local",
    value: " ws://127.0.0.1:8765 ",
    expected: {
      defaultId: "remote",
      includeLocal: false,
      environments: [{
        kind: "websocket",
        id: "remote",
        url: "ws://127.0.0.1:8765",
        connectTimeoutMs: 10_000,
        initializeTimeoutMs: 10_000,
      }],
      source: { kind: "env", value: "ws://127.0.0.1:8765" },
    },
  },
  {
    name: "the URL is not validated",
    value: "http://127.0.0.1:1",
    expected: {
      defaultId: "remote",
      includeLocal: false,
      environments: [{
        kind: "websocket",
        id: "remote",
        url: "http://127.0.0.1:1",
        connectTimeoutMs: 10_000,
        initializeTimeoutMs: 10_000,
      }],
      source: { kind: "env", value: "http://127.0.0.1:1" },
    },
  },
];

for (const c of LEGACY_CASES) {
  Deno.test(`loadEnvironments() without a file uses CODEX_EXEC_SERVER_URL: ${c.name}`, async () => {
    await withCodexHome({}, async (home) => {
      assert.deepEqual(
        await loadEnvironments({ codexHome: home, env: { CODEX_EXEC_SERVER_URL: c.value } }),
        c.expected,
      );
      assert.deepEqual(environmentsFromExecServerUrl(c.value), c.expected);
    });
  });
}

Deno.test("loadEnvironments() configPath wins over CODEX_HOME and the variable", async () => {
  await withCodexHome({ "environments.toml": "bogus = 1", "mine.toml": ws("mine", "") }, async (home) => {
    const other = await Deno.makeTempDir();
    try {
      const config = await loadEnvironments({
        configPath: join(home, "mine.toml"),
        codexHome: home,
        env: { CODEX_HOME: other, CODEX_EXEC_SERVER_URL: "ws://x" },
      });
      assert.deepEqual(config.source, { kind: "file", path: join(home, "mine.toml") });
      assert.deepEqual(config.environments.map((e) => e.id), ["mine"]);
    } finally {
      await Deno.remove(other, { recursive: true });
    }
  });
});

Deno.test("loadEnvironments() resolves relative paths of a configPath file against its directory", async () => {
  await withCodexHome(
    { "cfg.toml": `[[environments]]\nid = "s"\nprogram = "ssh"\ncwd = "w"` },
    async (home) => {
      const config = await loadEnvironments({ configPath: join(home, "cfg.toml"), env: {} });
      assert.equal(config.environments[0].kind === "stdio" && config.environments[0].cwd, join(home, "w"));
    },
  );
});

Deno.test("loadEnvironments() defaults CODEX_HOME to $HOME/.codex", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(home, ".codex"));
    await Deno.writeTextFile(join(home, ".codex", "environments.toml"), `default = "none"`);
    const config = await loadEnvironments({ env: { HOME: home, CODEX_EXEC_SERVER_URL: "ws://x" } });
    assert.deepEqual(config.source, { kind: "file", path: join(home, ".codex", "environments.toml") });
    assert.equal(config.defaultId, null);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("loadEnvironments() reports a missing configPath as a read error", async () => {
  await withCodexHome({}, async (home) => {
    const path = join(home, "absent.toml");
    const err = await loadEnvironments({ configPath: path, env: {} }).then(
      () => assert.fail("expected error"),
      (e) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.equal(err.kind, "read");
    assert.ok(err.message.startsWith(`failed to read environment config \`${path}\`: `), err.message);
  });
});

Deno.test("loadEnvironments() reports an unreadable environments.toml as a read error", async () => {
  await withCodexHome({}, async (home) => {
    await Deno.mkdir(join(home, "environments.toml")); // exists, but reading a directory fails
    const err = await loadEnvironments({ codexHome: home, env: {} }).then(
      () => assert.fail("expected error"),
      (e) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.equal(err.kind, "read");
    assert.ok(
      err.message.startsWith(`failed to read environment config \`${join(home, "environments.toml")}\`: `),
    );
  });
});

Deno.test("loadEnvironments() reports a failed existence check as an inspect error", async () => {
  await withCodexHome({ "not-a-dir": "" }, async (home) => {
    const codexHome = join(home, "not-a-dir"); // a file, so stat of a child fails with ENOTDIR
    const err = await loadEnvironments({ codexHome, env: {} }).then(
      () => assert.fail("expected error"),
      (e) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.equal(err.kind, "inspect");
    assert.ok(
      err.message.startsWith(
        `failed to inspect environment config \`${join(codexHome, "environments.toml")}\`: `,
      ),
      err.message,
    );
  });
});

Deno.test("loadEnvironments() propagates validation errors with the file path", async () => {
  await withCodexHome({ "environments.toml": ws("dev", "args = []") }, async (home) => {
    const err = await loadEnvironments({ codexHome: home, env: {} }).then(
      () => assert.fail("expected error"),
      (e) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.equal(
      err.message,
      `${join(home, "environments.toml")}: environments[0] (id \`dev\`), key \`args\` (line 4): ` +
        "environment `dev` args, env, and cwd require program",
    );
  });
});

// Codex 0.171's entry keys: `auth_bearer_token` (websocket only) and `[environments.skills]`, with its
// messages as the 0.171 binary prints them.
Deno.test("parseEnvironmentsToml() accepts Codex 0.171's auth_bearer_token and skills", () => {
  const config = parse(ws("dev", 'auth_bearer_token = "tok"\n[environments.skills]\nrequired = ["a", "b"]'));
  const entry = config.environments.find((e) => e.id === "dev");
  assert.ok(entry && entry.kind === "websocket");
  assert.deepEqual(entry.authToken, { value: "tok" });
  assert.equal(
    parse(ws("dev", 'auth_bearer_token = ""')).environments.find((e) => e.id === "dev")!.kind,
    "websocket",
  );
});

const CODEX_0171_CASES: ErrorCase[] = [
  {
    name: "auth_bearer_token on a program entry",
    toml: `[[environments]]\nid = "a"\nprogram = "x"\nconnect_timeout_sec = 1\nauth_bearer_token = "t"`,
    reason: "environment `a` auth_bearer_token requires url",
    entryIndex: 0,
    entryId: "a",
    keys: ["auth_bearer_token"],
  },
  {
    name: "auth_bearer_token of the wrong type",
    toml: ws("a", "auth_bearer_token = 5"),
    reason: "invalid type: integer `5`, expected a string",
    kind: "shape",
    entryIndex: 0,
    entryId: "a",
    keys: ["auth_bearer_token"],
  },
  {
    name: "skills not a table",
    toml: ws("a", "skills = true"),
    reason: "invalid type: boolean `true`, expected struct ScopedSkillsConfig",
    kind: "shape",
    entryIndex: 0,
    entryId: "a",
    keys: ["skills"],
  },
  {
    name: "unknown skills key",
    toml: ws("a", "[environments.skills]\nbogus = 1"),
    reason: "unknown field `bogus`, expected `required`",
    kind: "shape",
    entryIndex: 0,
    entryId: "a",
    keys: ["skills"],
  },
  {
    name: "skills.required not a sequence",
    toml: ws("a", "[environments.skills]\nrequired = 1"),
    reason: "invalid type: integer `1`, expected a sequence",
    kind: "shape",
    entryIndex: 0,
    entryId: "a",
    keys: ["skills"],
  },
];

for (const c of CODEX_0171_CASES) {
  Deno.test(`parseEnvironmentsToml() rejects ${c.name} as Codex 0.171 does`, () => {
    assertErrorCase(c, catchConfigError(() => parse(c.toml)));
  });
}
