/**
 * Side-by-side benchmarks of our exec-server against the two references, `codex exec-server` 0.140.0 and
 * 0.171.0, each spoken to in its own dialect (0.171: `file://` URIs, `writeId`; run as shipped, i.e. with its
 * default `--concurrent-requests 1`).
 *
 * ```sh
 * deno task bench [--ref140 PATH] [--ref171 PATH] [--no-reference] [--runs N] [--only NAME[,NAME]]
 *                 [--quick] [--ours-cmd "CMD ARGS"] [--prof DIR] [--no-write]
 * ```
 *
 * Ours is the shipped bundle, `dist/exec-server.js`, rebuilt first when missing or stale (see
 * {@link shippedBundleSpec}); `--ours-cmd` runs something else (e.g. `deno run -A main.ts` from source).
 *
 * For every scenario the servers are started once (fresh-server scenarios spawn per run), warmed up
 * with one unmeasured run each, then measured in turn (ours, 0.140, 0.171, ours, ...); a scenario that needs
 * methods 0.140 lacks (fs/readBlock, fs/writeBlock) skips it. A ratio target holds only if it holds against
 * every reference it names (both by default).
 * Each run verifies what it measured; failures are printed loudly and excluded from the statistics.
 * The table goes to stdout and, with the exact command, to `bench/RESULTS.md`.
 *
 * @module
 */
import { killAllServers, type ServerSpec, type Side } from "./client.ts";
import {
  type Config,
  type Ctx,
  type Reference,
  REFERENCES,
  type Sample,
  type Scenario,
  SCENARIOS,
} from "./scenarios.ts";

const VERSION: Record<Reference, "0.140.0" | "0.171.0"> = { codex140: "0.140.0", codex171: "0.171.0" };
const LABEL: Record<Side, string> = { ours: "ours", codex140: "0.140", codex171: "0.171" };

interface Options {
  ref: Partial<Record<Reference, string>>;
  noReference: boolean;
  runs?: number;
  only?: string[];
  quick: boolean;
  oursCmd?: string;
  prof?: string;
  write: boolean;
}

/**
 * Ours by default: the shipped bundle (`dist/exec-server.js`, what `deno task build` produces), started the
 * way its shebang starts it (same deno flags and V8 flags). It is (re)built first when missing or older than
 * any source file, so the figures are never those of a stale build.
 */
async function shippedBundleSpec(root: string, prof: string | undefined): Promise<ServerSpec> {
  const bundle = `${root}dist/exec-server.js`;
  if (await bundleIsStale(root, bundle)) {
    console.log("building dist/exec-server.js (missing or older than the sources): deno task build");
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}scripts/build.ts`],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!built.success) {
      const text = new TextDecoder().decode(built.stdout) + new TextDecoder().decode(built.stderr);
      throw new Error(`deno task build failed:\n${text}`);
    }
  }
  // "#!/usr/bin/env -S deno run -A --no-config --no-lock --v8-flags=..." -> ["run", "-A", ...]
  const shebang = (await Deno.readTextFile(bundle)).slice(0, 1000).split("\n")[0];
  const match = /^#!\S*env -S deno (.*)$/.exec(shebang);
  if (!match) throw new Error(`unexpected shebang in ${bundle}: ${shebang}`);
  const [run, ...flags] = match[1].split(/\s+/).filter(Boolean);
  const profFlags = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  return {
    side: "ours",
    dialect: "0.140",
    cmd: Deno.execPath(),
    args: [run, ...flags, ...profFlags, bundle],
  };
}

/** True when `bundle` is missing or older than main.ts, deno.json, deno.lock, scripts/build.ts or src/. */
async function bundleIsStale(root: string, bundle: string): Promise<boolean> {
  let built: number;
  try {
    built = (await Deno.stat(bundle)).mtime?.getTime() ?? 0;
  } catch {
    return true;
  }
  const newer = async (path: string): Promise<boolean> => {
    const info = await Deno.stat(path);
    if (!info.isDirectory) return (info.mtime?.getTime() ?? 0) > built;
    for await (const entry of Deno.readDir(path)) {
      if (await newer(`${path}/${entry.name}`)) return true;
    }
    return false;
  };
  for (const path of ["main.ts", "deno.json", "deno.lock", "scripts/build.ts", "src"]) {
    if (await newer(`${root}${path}`)) return true;
  }
  return false;
}

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}`);
  console.error(
    "usage: deno task bench [--ref140 PATH] [--ref171 PATH] [--no-reference] [--runs N] [--only NAME[,NAME]]\n" +
      "                       [--quick] [--ours-cmd 'CMD ARGS'] [--prof DIR] [--no-write]\n" +
      `scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`,
  );
  Deno.exit(2);
}

function parseArgs(args: string[]): Options {
  const o: Options = { ref: {}, noReference: false, quick: false, write: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const flag = a.split("=")[0];
    switch (flag) {
      case "--ref140":
        o.ref.codex140 = value();
        break;
      case "--ref171":
        o.ref.codex171 = value();
        break;
      case "--no-reference":
        o.noReference = true;
        break;
      case "--runs": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage("--runs must be a positive integer");
        o.runs = n;
        break;
      }
      case "--only":
        o.only = value().split(",").map((s) => s.trim()).filter(Boolean);
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--ours-cmd":
        o.oursCmd = value();
        break;
      case "--prof":
        o.prof = value();
        break;
      case "--no-write":
        o.write = false;
        break;
      case "-h":
      case "--help":
        usage();
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------
// Statistics

interface SideStats {
  values: number[];
  failures: string[];
  facts: Record<string, number>[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0],
    max: s[s.length - 1],
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
  };
}

function medianFacts(list: Record<string, number>[]): Record<string, number> | undefined {
  if (list.length === 0) return undefined;
  const out: Record<string, number> = {};
  for (const key of Object.keys(list[0])) out[key] = summary(list.map((f) => f[key])).median;
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cell(st: SideStats | undefined, unit: string): string {
  if (!st) return "not run";
  if (st.values.length === 0) return `FAILED (${st.failures.length})`;
  const s = summary(st.values);
  const spread = st.values.length >= 8 ? `IQR ${fmt(s.p25)}–${fmt(s.p75)}` : `${fmt(s.min)}–${fmt(s.max)}`;
  const fails = st.failures.length ? ` ⚠${st.failures.length} failed` : "";
  return `${fmt(s.median)} ${unit} (${spread}, n=${st.values.length})${fails}`;
}

// ---------------------------------------------------------------------------------------------------
// Harness

interface Row {
  scenario: Scenario;
  stats: Map<Side, SideStats>;
  note?: string;
}

const RUN_DEADLINE_MS = 120_000;

async function runSample(s: Scenario, ctx: Ctx, cfg: Config): Promise<Sample> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      s.run(ctx, cfg),
      new Promise<Sample>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`run exceeded ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function runScenario(s: Scenario, specs: ServerSpec[], cfg: Config): Promise<Row> {
  const stats = new Map<Side, SideStats>();
  const row: Row = { scenario: s, stats };
  const ctxs = new Map<Side, Ctx | null>();
  specs = specs.filter((spec) => !s.sides || s.sides.includes(spec.side));
  for (const spec of specs) stats.set(spec.side, { values: [], failures: [], facts: [] });

  const setup = async (spec: ServerSpec): Promise<Ctx | null> => {
    try {
      return await s.setup(spec, cfg);
    } catch (e) {
      stats.get(spec.side)!.failures.push(`setup: ${(e as Error).message}`);
      loud(`${s.name} [${spec.side}] setup failed: ${(e as Error).message}`);
      return null;
    }
  };

  const once = async (spec: ServerSpec, record: boolean): Promise<void> => {
    let ctx = ctxs.get(spec.side) ?? null;
    if (!ctx) {
      ctx = await setup(spec);
      ctxs.set(spec.side, ctx);
      if (!ctx) return;
    }
    const st = stats.get(spec.side)!;
    try {
      const sample = await runSample(s, ctx, cfg);
      if (sample.errors.length > 0) {
        const msg = sample.errors.slice(0, 5).join("; ");
        st.failures.push(msg);
        loud(`${s.name} [${spec.side}] verification FAILED${record ? "" : " (warm-up)"}: ${msg}`);
      } else if (record) {
        st.values.push(sample.value);
        if (sample.facts) st.facts.push(sample.facts);
      }
      // Facts of failed runs matter too (e.g. bytes lost by ours).
      if (record && sample.errors.length > 0 && sample.facts) st.facts.push(sample.facts);
    } catch (e) {
      // deno-lint-ignore no-explicit-any -- the scenario context's server is untyped here
      const server = (ctx as any).server;
      const tail = server?.stderrTail ? `\n  server stderr: ${server.stderrTail.slice(-600)}` : "";
      st.failures.push((e as Error).message);
      loud(`${s.name} [${spec.side}] run FAILED: ${(e as Error).message}${tail}`);
      // Start over with a fresh server: the old one may be wedged.
      await ctx.close().catch(() => {});
      ctxs.set(spec.side, null);
    }
  };

  try {
    for (const spec of specs) await once(spec, false); // warm-up
    const n = s.samples(cfg);
    for (let i = 0; i < n; i++) {
      for (const spec of specs) await once(spec, true);
      Deno.stdout.writeSync(new TextEncoder().encode("."));
    }
  } finally {
    for (const ctx of ctxs.values()) await ctx?.close().catch(() => {});
  }
  if (s.verdictNote) {
    const facts: Partial<Record<Side, Record<string, number>>> = {};
    for (const [side, st] of stats) facts[side] = medianFacts(st.facts);
    row.note = s.verdictNote(facts);
  }
  return row;
}

function loud(msg: string): void {
  console.error(`\n%c!!! ${msg}`, "color: red; font-weight: bold");
  loudLog.push(msg);
}
const loudLog: string[] = [];

function median(st: SideStats | undefined): number {
  return st && st.values.length ? summary(st.values).median : NaN;
}

function ratioText(ratio: number): string {
  if (!Number.isFinite(ratio)) return "—";
  return `${ratio < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}x`;
}

/** Ratios ours/0.140 and ours/0.171, the target, and whether it holds (against every reference it names). */
function verdict(row: Row): { ratios: Record<Reference, string>; target: string; met: string } {
  const s = row.scenario;
  const o = median(row.stats.get("ours"));
  const ratio = (ref: Reference) => o / median(row.stats.get(ref));
  const ratios = { codex140: ratioText(ratio("codex140")), codex171: ratioText(ratio("codex171")) };
  const t = s.target;
  const oursFailed = (row.stats.get("ours")?.failures.length ?? 0) > 0;
  let target = "—";
  let met = "—";
  if (t.kind === "ratio<=" || t.kind === "ratio>=") {
    const against = t.against ?? [...REFERENCES];
    const op = t.kind === "ratio<=" ? "≤" : "≥";
    target = `${op} ${t.value}x ${against.length === 2 ? "of both" : `of ${LABEL[against[0]]}`}`;
    const checks = against.map((ref) => {
      const r = ratio(ref);
      if (!Number.isFinite(r)) return undefined;
      return t.kind === "ratio<=" ? r <= t.value : r >= t.value;
    });
    if (checks.some((c) => c === false)) met = "NO";
    else if (checks.every((c) => c === true)) met = "yes";
    else if (checks.some((c) => c === true)) met = "undecided (a reference failed or did not run)";
  } else if (t.kind === "abs<") {
    target = `< ${t.value} ${s.unit}`;
    if (Number.isFinite(o)) met = o < t.value ? "yes" : "NO";
  }
  if (s.name === "stdout_paging" && target !== "—") target += ", 0 lost";
  if (oursFailed && met !== "—") met = "NO (ours had failures)";
  return { ratios, target, met };
}

function table(rows: Row[]): string {
  const lines = [
    "| scenario | ours | 0.140 | 0.171 | ours/0.140 | ours/0.171 | target | met? |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const v = verdict(row);
    const u = row.scenario.unit;
    const c = (side: Side) => {
      if (row.scenario.sides && !row.scenario.sides.includes(side)) return "—";
      return cell(row.stats.get(side), u);
    };
    lines.push(
      `| ${row.scenario.name} | ${c("ours")} | ${c("codex140")} | ${
        c("codex171")
      } | ${v.ratios.codex140} | ${v.ratios.codex171} | ${v.target} | ${v.met} |`,
    );
  }
  return lines.join("\n");
}

async function resolveReference(o: Options, ref: Reference): Promise<{ path?: string; why: string }> {
  if (o.noReference) return { why: "--no-reference given" };
  const given = o.ref[ref];
  const flag = ref === "codex140" ? "--ref140" : "--ref171";
  if (given) {
    try {
      if (!Deno.statSync(given).isFile) return { why: `${given} is not a file` };
      return { path: given, why: flag };
    } catch (e) {
      return { why: `${flag} ${given}: ${(e as Error).message}` };
    }
  }
  try {
    const { codexBinary } = await import("../tests/codex/fetch_codex.ts");
    const path = await codexBinary(VERSION[ref]);
    return { path, why: `codexBinary("${VERSION[ref]}")` };
  } catch (e) {
    return { why: `fetching codex ${VERSION[ref]} failed: ${(e as Error).message}` };
  }
}

function loadavg(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}

function machine(): string {
  let cpu = "?";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
  } catch {
    // not linux
  }
  return `${navigator.hardwareConcurrency} CPUs (${cpu}), Deno ${Deno.version.deno}`;
}

async function main(): Promise<number> {
  const o = parseArgs(Deno.args);
  const benchDir = new URL(".", import.meta.url).pathname;
  const root = new URL("..", import.meta.url).pathname;
  const scratch = `${root}.bench`;
  const dataDir = `${scratch}/data`;
  await Deno.mkdir(dataDir, { recursive: true });

  const runs = o.runs ?? (o.quick ? 2 : 5);
  const cfg: Config = o.quick
    ? {
      runs,
      quick: true,
      streamBytes: 20_000_000,
      wsStreamBytes: 20_000_000,
      ptyBytes: 2_000_000,
      rssStreamBytes: 50_000_000,
      stdinBytes: 16_000_000,
      stdinChunk: 65536,
      stdinWindow: 16,
      fsBigBytes: 50_000_000,
      blockFileBytes: 50_000_000,
      blockBytes: 1048576,
      tinyWrites: 100_000,
      tinyHoldMs: 5000,
      smallOps: 500,
      dataDir,
    }
    : {
      runs,
      quick: false,
      streamBytes: 100_000_000,
      wsStreamBytes: 100_000_000,
      ptyBytes: 10_000_000,
      rssStreamBytes: 200_000_000,
      stdinBytes: 64_000_000,
      stdinChunk: 65536,
      stdinWindow: 16,
      fsBigBytes: 50_000_000,
      blockFileBytes: 200_000_000,
      blockBytes: 1048576,
      tinyWrites: 100_000,
      tinyHoldMs: 5000,
      smallOps: 2000,
      dataDir,
    };

  let scenarios = SCENARIOS;
  if (o.only) {
    const unknown = o.only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length) usage(`unknown scenario ${unknown.join(", ")}`);
    scenarios = SCENARIOS.filter((s) => o.only!.includes(s.name));
  }

  const oursSpec: ServerSpec = o.oursCmd
    ? {
      side: "ours",
      dialect: "0.140",
      cmd: o.oursCmd.split(/\s+/)[0],
      args: o.oursCmd.split(/\s+/).slice(1).filter(Boolean),
    }
    : await shippedBundleSpec(root, o.prof);
  const specs: ServerSpec[] = [oursSpec];
  const refs = new Map<Reference, { path?: string; why: string }>();
  for (const ref of REFERENCES) {
    const found = await resolveReference(o, ref);
    refs.set(ref, found);
    if (!found.path) continue;
    // CODEX_HOME outside the system temp dir: 0.171's sandbox helper refuses to start under /tmp.
    const codexHome = `${scratch}/codex-home-${VERSION[ref]}`;
    await Deno.mkdir(codexHome, { recursive: true });
    specs.push({
      side: ref,
      dialect: ref === "codex171" ? "0.171" : "0.140",
      cmd: found.path,
      args: ["exec-server"],
      env: { CODEX_HOME: codexHome, RUST_LOG: "error" },
    });
  }

  const command = ["deno task bench", ...Deno.args].join(" ");
  console.log(`exec-server bench: ${command}`);
  const loadAtStart = loadavg();
  console.log(`machine: ${machine()}, load average ${loadAtStart}`);
  console.log(`ours: ${oursSpec.cmd} ${oursSpec.args.join(" ")}`);
  for (const [ref, found] of refs) {
    if (found.path) console.log(`${LABEL[ref]}: ${found.path} exec-server (${found.why})`);
    else {
      console.error(
        `%c!!! NO ${LABEL[ref]} REFERENCE: ${found.why}. Its column and ratios are not available.`,
        "color: red; font-weight: bold",
      );
    }
  }
  console.log(
    `runs: ${runs} per side (in turn ours/0.140/0.171 after one warm-up each)${
      o.quick ? ", quick sizes" : ""
    }\n`,
  );

  const started = performance.now();
  const rows: Row[] = [];
  for (const s of scenarios) {
    Deno.stdout.writeSync(new TextEncoder().encode(`${s.name} `));
    const t0 = performance.now();
    const row = await runScenario(s, specs, cfg);
    rows.push(row);
    console.log(` ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const elapsed = (performance.now() - started) / 1000;

  const tbl = table(rows);
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.note}`);
  const hints = rows.map((r) =>
    `- ${r.scenario.name}: ${r.scenario.title}; reference figure when targets were set: ${r.scenario.referenceHint}`
  );
  console.log(`\n${tbl}\n`);
  if (notes.length) console.log(notes.join("\n"));
  console.log(`\ntotal ${elapsed.toFixed(0)} s`);
  if (loudLog.length) {
    loud(`${loudLog.length} failure(s) during this run; see above (and RESULTS.md).`);
  }

  if (o.write) {
    const md = [
      "# Benchmark results (latest run)",
      "",
      `Command: \`${command}\``,
      "",
      `Date: ${
        new Date().toISOString()
      }; ${machine()}; load average ${loadAtStart} at start, ${loadavg()} at end;`,
      `total ${elapsed.toFixed(0)} s.`,
      "",
      ...REFERENCES.map((ref) => {
        const found = refs.get(ref)!;
        return found.path
          ? `- ${LABEL[ref]}: \`codex exec-server\` ${VERSION[ref]} (${found.why}), run as shipped.`
          : `- ${LABEL[ref]}: **not run** (${found.why}).`;
      }),
      "",
      "Cells: median (spread: min–max for n < 8, else interquartile range; n = measured runs); — where a server",
      "lacks the methods. Ratios = ours / reference (medians). A ratio target holds only if it holds against every",
      "reference it names. See README.md for the methodology and what limits each figure.",
      "",
      tbl,
      "",
      ...(notes.length ? ["Notes:", "", ...notes, ""] : []),
      "Scenarios:",
      "",
      ...hints,
      "",
      ...(loudLog.length ? ["Failures:", "", ...loudLog.map((l) => `- ${l.replaceAll("\n", " ")}`), ""] : []),
    ].join("\n");
    await Deno.writeTextFile(`${benchDir}RESULTS.md`, md);
    // Keep the generated file `deno fmt`-clean (the repo's check task runs `deno fmt --check`).
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "-q", `${benchDir}RESULTS.md`],
      stdout: "null",
      stderr: "null",
    })
      .output().catch(() => {});
    console.log(`wrote ${benchDir}RESULTS.md`);
  }
  return loudLog.length ? 1 : 0;
}

addEventListener("unload", killAllServers);
Deno.addSignalListener("SIGINT", () => {
  killAllServers();
  Deno.exit(130);
});

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } finally {
    killAllServers();
  }
  Deno.exit(code);
}
