/**
 * Benchmark scenarios. Each one measures a single figure per run and verifies what it measured
 * (byte counts, exit codes, seq contiguity, response contents); a failed check makes the run a failure.
 *
 * @module
 */
import {
  type Client,
  type OutputEvent,
  type RawResult,
  type ServerSpec,
  type Side,
  startStdio,
  startWs,
  type StdioClient,
  withDeadline,
} from "./client.ts";

/** Sizes and counts; `--quick` shrinks them. */
export interface Config {
  runs: number;
  quick: boolean;
  streamBytes: number;
  wsStreamBytes: number;
  ptyBytes: number;
  rssStreamBytes: number;
  stdinBytes: number;
  stdinChunk: number;
  stdinWindow: number;
  fsBigBytes: number;
  /** Size of the file streamed by fs/readBlock and fs/writeBlock. */
  blockFileBytes: number;
  /** Bytes per fs/readBlock / fs/writeBlock (1 MiB, the references' limit). */
  blockBytes: number;
  /** One-byte writes made by the retained-tiny-chunks child. */
  tinyWrites: number;
  /** How long the retained-tiny-chunks scenario leaves the output unread. */
  tinyHoldMs: number;
  smallOps: number;
  dataDir: string;
}

export type Unit = "ms" | "MB/s" | "ops/s" | "MiB" | "B/B";

/** The references, in table order. */
export const REFERENCES = ["codex140", "codex171"] as const;
export type Reference = typeof REFERENCES[number];

/**
 * What a scenario must achieve. A ratio target holds only if it holds against every reference in
 * `against` (default: both) that ran the scenario.
 */
export type Target =
  | { kind: "ratio<="; value: number; against?: Reference[] }
  | { kind: "ratio>="; value: number; against?: Reference[] }
  | { kind: "abs<"; value: number }
  | { kind: "none" };

/** One measurement. `errors` non-empty means the run failed verification. */
export interface Sample {
  value: number;
  errors: string[];
  /** Free-form facts worth reporting (e.g. bytes lost). Aggregated per side. */
  facts?: Record<string, number>;
}

/** A scenario's per-side state (a running server, files, ...). */
export interface Ctx {
  spec: ServerSpec;
  client?: Client;
  close(): Promise<void>;
  [key: string]: unknown;
}

export interface Scenario {
  name: string;
  title: string;
  unit: Unit;
  /** Reference figure measured on this machine when the targets were set. */
  referenceHint: string;
  target: Target;
  /** The servers that have what the scenario needs (default: all three). */
  sides?: Side[];
  /** Samples per side for `runs` runs. */
  samples(cfg: Config): number;
  setup(spec: ServerSpec, cfg: Config): Promise<Ctx>;
  run(ctx: Ctx, cfg: Config): Promise<Sample>;
  /** Optional extra check of the aggregated facts (e.g. 0 bytes lost for ours). */
  verdictNote?(facts: Partial<Record<Side, Record<string, number>>>): string;
}

// ---------------------------------------------------------------------------------------------------
// Per-process event tracking

/** Everything the server told us about one process. */
export class Proc {
  bytes = 0;
  outputs = 0;
  events = 0;
  maxSeq = 0;
  exitCode: number | null = null;
  closedSeq = 0;
  readonly closed = Promise.withResolvers<void>();
  onOutput?: (ev: OutputEvent) => void;
  onEvent?: () => void;
  stdoutSample: Uint8Array[] = [];
  keepOutput = false;

  constructor(readonly id: string) {}

  /** Seq numbers were 1..closedSeq without gaps or duplicates (by count and max). */
  seqErrors(): string[] {
    const errors: string[] = [];
    if (this.closedSeq === 0) errors.push(`${this.id}: no process/closed`);
    else if (this.events !== this.closedSeq || this.maxSeq !== this.closedSeq) {
      errors.push(
        `${this.id}: ${this.events} events but closed seq ${this.closedSeq} (max seq ${this.maxSeq})`,
      );
    }
    return errors;
  }
}

const routers = new WeakMap<Client, Map<string, Proc>>();

function procs(client: Client): Map<string, Proc> {
  let map = routers.get(client);
  if (map) return map;
  const table = new Map<string, Proc>();
  map = table;
  routers.set(client, map);
  client.handlers = {
    output(ev) {
      const p = table.get(ev.processId);
      if (!p) return;
      p.bytes += ev.bytes;
      p.outputs++;
      p.events++;
      if (ev.seq > p.maxSeq) p.maxSeq = ev.seq;
      if (p.keepOutput) p.stdoutSample.push(b64decode(ev.chunk));
      p.onOutput?.(ev);
    },
    notification(method, params) {
      if (method === "$closed") {
        for (const p of table.values()) p.closed.reject(new Error(`connection closed: ${params.reason}`));
        return;
      }
      const p = table.get(params?.processId);
      if (!p) return;
      p.events++;
      if (params.seq > p.maxSeq) p.maxSeq = params.seq;
      if (method === "process/exited") p.exitCode = params.exitCode;
      else if (method === "process/closed") {
        p.closedSeq = params.seq;
        p.closed.resolve();
        table.delete(p.id);
      }
      p.onEvent?.();
    },
  };
  return map;
}

let procCounter = 0;

/** Registers interest before the start request (events can overtake the response). */
function watch(client: Client, prefix: string): Proc {
  const p = new Proc(`${prefix}-${++procCounter}`);
  p.closed.promise.catch(() => {});
  procs(client).set(p.id, p);
  return p;
}

const latin1 = new TextDecoder("latin1");

function b64decode(chunk: Uint8Array | string): Uint8Array {
  return Uint8Array.fromBase64(typeof chunk === "string" ? chunk : latin1.decode(chunk));
}

const CHILD_ENV = { PATH: "/usr/bin:/bin", LANG: "C" };

/** `process/start` params in the client's dialect (0.171: the cwd as a `file://` URI). */
function startParams(client: Client, id: string, argv: string[], extra: Record<string, unknown> = {}) {
  const cwd = pathFor(client.dialect, "/tmp");
  return { processId: id, argv, cwd, env: CHILD_ENV, tty: false, arg0: null, ...extra };
}

/** An absolute path as the dialect spells it: plain for 0.140 (and ours), a `file://` URI for 0.171. */
function pathFor(dialect: ServerSpec["dialect"], path: string): string {
  return dialect === "0.171" ? `file://${path}` : path;
}

const now = () => performance.now();

// ---------------------------------------------------------------------------------------------------
// Contexts

/** A stdio server, initialized. */
async function stdioCtx(spec: ServerSpec): Promise<Ctx> {
  const conn = startStdio(spec);
  try {
    await withDeadline(conn.client.initialize(), 20000, `${spec.side} initialize`);
  } catch (e) {
    await conn.close();
    throw new Error(`${(e as Error).message}\n${conn.server.stderrTail}`);
  }
  return { spec, client: conn.client, server: conn.server, close: () => conn.close() };
}

async function wsCtx(spec: ServerSpec): Promise<Ctx> {
  const conn = await startWs(spec);
  try {
    await withDeadline(conn.client.initialize(), 10000, `${spec.side} initialize`);
  } catch (e) {
    await conn.close();
    throw e;
  }
  return { spec, client: conn.client, server: conn.server, close: () => conn.close() };
}

function freshCtx(spec: ServerSpec): Promise<Ctx> {
  return Promise.resolve({ spec, close: () => Promise.resolve() });
}

// ---------------------------------------------------------------------------------------------------
// Shared measurements

async function spawnTrue(client: Client): Promise<Sample> {
  const p = watch(client, "true");
  const t0 = now();
  const started = client.request("process/start", startParams(client, p.id, ["true"]));
  await withDeadline(Promise.all([started, p.closed.promise]), 5000, "true start->closed");
  const ms = now() - t0;
  const errors = p.seqErrors();
  if (p.exitCode !== 0) errors.push(`exit code ${p.exitCode}`);
  return { value: ms, errors };
}

/** Streams `bytes` of stdout through notifications; returns MB/s and verification. */
async function streamStdout(
  client: Client,
  bytes: number,
  opts: { tty?: boolean; argv?: string[]; expect?: number; extra?: Record<string, unknown> } = {},
): Promise<Sample & { proc: Proc }> {
  const p = watch(client, opts.tty ? "pty" : "out");
  let badContent = 0;
  if (!opts.tty) {
    // /dev/zero encodes to "AAAA...": spot-check every 64th chunk.
    p.onOutput = (ev) => {
      if ((ev.seq & 63) !== 1) return;
      const c = ev.chunk;
      const first = typeof c === "string" ? c.charCodeAt(0) : c[0];
      const mid = typeof c === "string" ? c.charCodeAt(c.length >> 1) : c[c.length >> 1];
      if (first !== 0x41 || mid !== 0x41) badContent++;
    };
  }
  const argv = opts.argv ?? ["head", "-c", String(bytes), "/dev/zero"];
  const expect = opts.expect ?? bytes;
  const t0 = now();
  const started = client.request(
    "process/start",
    startParams(client, p.id, argv, { tty: opts.tty ?? false, ...opts.extra }),
  );
  await withDeadline(
    Promise.all([started, p.closed.promise]),
    10000 + bytes / 2e3,
    `stream ${bytes} bytes`,
  );
  const secs = (now() - t0) / 1000;
  const errors = p.seqErrors();
  if (p.bytes !== expect) errors.push(`received ${p.bytes} bytes, expected ${expect}`);
  if (p.exitCode !== 0) errors.push(`exit code ${p.exitCode}`);
  if (badContent) errors.push(`${badContent} spot-checked chunks were not zeros`);
  return { value: expect / 1e6 / secs, errors, proc: p };
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

export const SCENARIOS: Scenario[] = [
  {
    name: "cold_start",
    title: "cold start → initialize reply",
    unit: "ms",
    referenceHint: "7.9 ms (0.140)",
    target: { kind: "ratio<=", value: 2.5, against: ["codex171"] },
    samples: (c) => c.runs * 2,
    setup: freshCtx,
    async run(ctx) {
      const t0 = now();
      const conn = startStdio(ctx.spec);
      try {
        const id = await withDeadline(conn.client.initialize(), 20000, "initialize");
        const ms = now() - t0;
        return { value: ms, errors: typeof id === "string" && id.length > 0 ? [] : ["no sessionId"] };
      } finally {
        await conn.close();
      }
    },
  },
  {
    name: "spawn_true",
    title: "`true` start → closed (stdio)",
    unit: "ms",
    referenceHint: "1.48 ms (0.140)",
    target: { kind: "ratio<=", value: 1, against: ["codex140"] },
    samples: (c) => c.runs * 8,
    setup: stdioCtx,
    run: (ctx) => spawnTrue(ctx.client!),
  },
  {
    name: "head_of_line",
    title: "environment/info behind a 300 ms process/read",
    unit: "ms",
    referenceHint: "302 ms",
    target: { kind: "abs<", value: 5 },
    samples: (c) => c.runs * 2,
    setup: stdioCtx,
    async run(ctx) {
      const client = ctx.client!;
      const p = watch(client, "sleep");
      await withDeadline(
        client.request("process/start", startParams(client, p.id, ["sleep", "5"])),
        5000,
        "start sleep",
      );
      const read = client.request("process/read", {
        processId: p.id,
        afterSeq: 0,
        maxBytes: null,
        waitMs: 300,
      });
      const t0 = now();
      const info = await withDeadline(client.request("environment/info", null), 5000, "environment/info");
      const ms = now() - t0;
      const r = await withDeadline(read, 5000, "process/read");
      const errors: string[] = [];
      if (typeof info?.shell?.name !== "string") errors.push(`bad environment/info ${JSON.stringify(info)}`);
      if (r.chunks.length !== 0 || r.exited) errors.push(`unexpected read result ${JSON.stringify(r)}`);
      await withDeadline(client.request("process/terminate", { processId: p.id }), 5000, "terminate");
      await withDeadline(p.closed.promise, 5000, "sleep closed after terminate");
      return { value: ms, errors };
    },
  },
  {
    name: "concurrent_50",
    title: "50 concurrent `sleep 0.2`, wall time to all closed",
    unit: "ms",
    referenceHint: "280 ms",
    target: { kind: "ratio<=", value: 1.05 },
    samples: (c) => c.runs,
    setup: stdioCtx,
    async run(ctx) {
      const client = ctx.client!;
      const ps = Array.from({ length: 50 }, () => watch(client, "c50"));
      const t0 = now();
      const starts = ps.map((p) =>
        client.request("process/start", startParams(client, p.id, ["sleep", "0.2"]))
      );
      await withDeadline(Promise.all([...starts, ...ps.map((p) => p.closed.promise)]), 10000, "50 sleeps");
      const ms = now() - t0;
      const errors = ps.flatMap((
        p,
      ) => [...p.seqErrors(), ...(p.exitCode === 0 ? [] : [`exit ${p.exitCode}`])]);
      return { value: ms, errors };
    },
  },
  {
    name: "stdout_notify",
    title: "stdout via process/output (stdio)",
    unit: "MB/s",
    referenceHint: "72 MB/s",
    target: { kind: "ratio>=", value: 3 },
    samples: (c) => c.runs,
    setup: stdioCtx,
    run: (ctx, cfg) => streamStdout(ctx.client!, cfg.streamBytes),
  },
  {
    name: "stdout_notify_ack",
    title: 'as stdout_notify, ours with the `ackMode:"notification"` extension (reference unchanged)',
    unit: "MB/s",
    referenceHint: "72 MB/s",
    target: { kind: "none" },
    samples: (c) => c.runs,
    setup: stdioCtx,
    run: (ctx, cfg) =>
      streamStdout(ctx.client!, cfg.streamBytes, {
        extra: ctx.spec.side === "ours" ? { ackMode: "notification" } : {},
      }),
  },
  {
    name: "stdout_paging",
    title: "stdout via process/read paging (wake + poll, waitMs 0, maxBytes null)",
    unit: "MB/s",
    referenceHint: "28 MB/s, loses ~half",
    target: { kind: "ratio>=", value: 3 },
    samples: (c) => c.runs,
    setup: stdioCtx,
    async run(ctx, cfg) {
      const client = ctx.client!;
      const n = cfg.streamBytes;
      const p = watch(client, "page");
      let afterSeq: number | null = null;
      let lastSeq = 0;
      let received = 0;
      let reads = 0;
      let firstGap = 0;
      let reading = false;
      let dirty = false;
      let done = false;
      let failure: Error | null = null;
      const finished = Promise.withResolvers<void>();
      finished.promise.catch(() => {});
      // Codex's "wake + poll": notifications only wake the reader; data comes from process/read.
      const kick = async () => {
        if (reading || done) return;
        reading = true;
        try {
          for (;;) {
            dirty = false;
            const r = await client.request("process/read", {
              processId: p.id,
              afterSeq,
              maxBytes: null,
              waitMs: 0,
            });
            reads++;
            for (const c of r.chunks) {
              if (c.seq <= lastSeq) continue;
              if (c.seq > lastSeq + 1 && firstGap === 0 && received < n) firstGap = c.seq;
              lastSeq = c.seq;
              const s: string = c.chunk;
              received += (s.length / 4) * 3 - (s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0);
            }
            afterSeq = r.nextSeq - 1;
            if (r.closed) {
              done = true;
              finished.resolve();
              return;
            }
            // Keep paging while pages come back non-empty; otherwise wait for the next wake-up.
            if (!dirty && r.chunks.length === 0) break;
          }
        } catch (e) {
          failure = e as Error;
          finished.reject(e);
        } finally {
          reading = false;
        }
        if (dirty && !done) kick();
      };
      p.onOutput = () => {
        dirty = true;
        kick();
      };
      p.onEvent = () => {
        dirty = true;
        kick();
      };
      const t0 = now();
      await withDeadline(
        client.request("process/start", startParams(client, p.id, ["head", "-c", String(n), "/dev/zero"])),
        5000,
        "start",
      );
      kick();
      await withDeadline(
        Promise.all([finished.promise, p.closed.promise]),
        20000 + n / 1e3,
        `paging ${n} bytes (received ${received} so far)`,
      );
      const secs = (now() - t0) / 1000;
      const errors = p.seqErrors();
      if (failure) errors.push(`read failed: ${(failure as Error).message}`);
      if (p.exitCode !== 0) errors.push(`exit code ${p.exitCode}`);
      if (p.bytes !== n) errors.push(`notifications carried ${p.bytes} bytes, expected ${n}`);
      const lost = n - received;
      if (lost < 0) errors.push(`received ${received} > produced ${n}`);
      if (ctx.spec.side === "ours" && lost !== 0) {
        errors.push(`LOST ${lost} bytes (first gap at seq ${firstGap})`);
      }
      return {
        value: received / 1e6 / secs,
        errors,
        facts: { lostBytes: lost, lostPct: (100 * lost) / n, reads },
      };
    },
    verdictNote(f) {
      const show = (x?: Record<string, number>) =>
        x ? `${(x.lostBytes / 1e6).toFixed(1)} MB lost (${x.lostPct.toFixed(1)}%), ${x.reads} reads` : "n/a";
      return `paging: ours ${show(f.ours)}; 0.140 ${show(f.codex140)}; 0.171 ${
        show(f.codex171)
      } (median per run; MB/s counts delivered bytes)`;
    },
  },
  {
    name: "stdin_write",
    title: "stdin via process/write (`head -c N | wc -c`)",
    unit: "MB/s",
    referenceHint: "82 MB/s",
    target: { kind: "ratio>=", value: 2 },
    samples: (c) => c.runs,
    setup: async (spec) => {
      const ctx = await stdioCtx(spec);
      return ctx;
    },
    async run(ctx, cfg) {
      const client = ctx.client!;
      const n = cfg.stdinBytes;
      const p = watch(client, "stdin");
      p.keepOutput = true;
      await withDeadline(
        client.request(
          "process/start",
          startParams(client, p.id, ["sh", "-c", `head -c ${n} | wc -c`], { pipeStdin: true }),
        ),
        5000,
        "start",
      );
      const chunk = new Uint8Array(cfg.stdinChunk);
      for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
      const full = chunk.toBase64();
      const statuses = new Map<string, number>();
      // 0.171 requires a writeId (a per-process deduplication key) on every write.
      const withWriteId = client.dialect === "0.171";
      let writes = 0;
      const t0 = now();
      let sent = 0;
      const inflight = new Set<Promise<void>>();
      while (sent < n) {
        const size = Math.min(cfg.stdinChunk, n - sent);
        const b64 = size === cfg.stdinChunk ? full : chunk.subarray(0, size).toBase64();
        sent += size;
        const w: Promise<void> = client.requestRaw(
          "process/write",
          withWriteId
            ? `{"processId":"${p.id}","chunk":"${b64}","writeId":"w${++writes}"}`
            : `{"processId":"${p.id}","chunk":"${b64}"}`,
        )
          .then((r) => {
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          })
          .finally(() => inflight.delete(w));
        inflight.add(w);
        if (inflight.size >= cfg.stdinWindow) {
          await withDeadline(Promise.race(inflight), 10000, "process/write");
        }
      }
      await withDeadline(Promise.all(inflight), 10000, "process/write tail");
      await withDeadline(p.closed.promise, 20000, "stdin process closed");
      const secs = (now() - t0) / 1000;
      const errors = p.seqErrors();
      const out = new TextDecoder().decode(concat(p.stdoutSample)).trim();
      if (out !== String(n)) errors.push(`wc -c printed ${JSON.stringify(out)}, expected ${n}`);
      if (p.exitCode !== 0) errors.push(`exit code ${p.exitCode}`);
      for (const [s, count] of statuses) if (s !== "accepted") errors.push(`${count} writes answered ${s}`);
      return { value: n / 1e6 / secs, errors };
    },
  },
  {
    name: "fs_read_50mb",
    title: "fs/readFile 50 MB",
    unit: "MB/s",
    referenceHint: "110 MB/s",
    target: { kind: "ratio>=", value: 2 },
    samples: (c) => c.runs,
    async setup(spec, cfg) {
      const path = `${cfg.dataDir}/read-big.bin`;
      const data = await ensureRandomFile(path, cfg.fsBigBytes);
      const ctx = await stdioCtx(spec);
      return { ...ctx, path: pathFor(spec.dialect, path), data };
    },
    async run(ctx, cfg) {
      const client = ctx.client! as StdioClient;
      const t0 = now();
      const r = await withDeadline(client.request("fs/readFile", { path: ctx.path }), 30000, "fs/readFile");
      const secs = (now() - t0) / 1000;
      const errors = checkReadFile(r, ctx.data as Uint8Array);
      return { value: cfg.fsBigBytes / 1e6 / secs, errors };
    },
  },
  {
    name: "fs_write_50mb",
    title: "fs/writeFile 50 MB",
    unit: "MB/s",
    referenceHint: "100 MB/s",
    target: { kind: "ratio>=", value: 2 },
    samples: (c) => c.runs,
    async setup(spec, cfg) {
      const data = await ensureRandomFile(`${cfg.dataDir}/read-big.bin`, cfg.fsBigBytes);
      const path = `${cfg.dataDir}/write-big-${spec.side}.bin`;
      const params = new TextEncoder().encode(
        `{"path":"${pathFor(spec.dialect, path)}","dataBase64":"${data.toBase64()}"}`,
      );
      const ctx = await stdioCtx(spec);
      return { ...ctx, path, data, params };
    },
    async run(ctx, cfg) {
      const client = ctx.client! as StdioClient;
      await Deno.remove(ctx.path as string).catch(() => {});
      const t0 = now();
      const r = await withDeadline(
        requestBytes(client, "fs/writeFile", ctx.params as Uint8Array),
        30000,
        "fs/writeFile",
      );
      const secs = (now() - t0) / 1000;
      const errors: string[] = [];
      if (JSON.stringify(r) !== "{}") errors.push(`result ${JSON.stringify(r)}`);
      const written = await Deno.readFile(ctx.path as string);
      if (!equalBytes(written, ctx.data as Uint8Array)) {
        errors.push(`file content differs (${written.length} bytes written)`);
      }
      return { value: cfg.fsBigBytes / 1e6 / secs, errors };
    },
  },
  smallReads("fs_read_1k_x1", 1, "4.5k ops/s", 1),
  smallReads("fs_read_1k_x32", 32, "9.6k ops/s", 2),
  {
    name: "peak_rss",
    title: "server peak RSS (VmHWM) under a stdout stream",
    unit: "MiB",
    referenceHint: "48 MB (0.140), 60 MB (0.171)",
    target: { kind: "ratio<=", value: 1.5, against: ["codex171"] },
    samples: (c) => Math.max(2, Math.ceil(c.runs / 2)),
    setup: freshCtx,
    async run(ctx, cfg) {
      const conn = startStdio(ctx.spec);
      try {
        await withDeadline(conn.client.initialize(), 20000, "initialize");
        const idle = conn.server.peakRss();
        const s = await streamStdout(conn.client, cfg.rssStreamBytes);
        const peak = conn.server.peakRss();
        const errors = [...s.errors];
        if (!Number.isFinite(peak)) errors.push("could not read VmHWM");
        return { value: peak / 1048576, errors, facts: { idleMiB: idle / 1048576, streamMBs: s.value } };
      } finally {
        await conn.close();
      }
    },
    verdictNote(f) {
      const show = (x?: Record<string, number>) =>
        x
          ? `peak after initialize ${x.idleMiB.toFixed(1)} MiB, stream ${x.streamMBs.toFixed(0)} MB/s`
          : "not run";
      return `peak_rss: ours ${show(f.ours)}; 0.140 ${show(f.codex140)}; 0.171 ${show(f.codex171)}`;
    },
  },
  {
    name: "mem_growth",
    title:
      "server RSS growth over a 200 MB stdout stream: peak (VmHWM, reset at the stream's start) minus RSS " +
      "right after initialize",
    unit: "MiB",
    referenceHint: "21 MB (0.140), 14 MB (0.171)",
    target: { kind: "ratio<=", value: 2 },
    samples: (c) => Math.max(2, Math.ceil(c.runs / 2)),
    setup: freshCtx,
    async run(ctx, cfg) {
      const conn = startStdio(ctx.spec);
      try {
        await withDeadline(conn.client.initialize(), 20000, "initialize");
        const base = conn.server.rss();
        const errors: string[] = [];
        // VmHWM now starts from the current RSS, so the peak below is the stream's own.
        if (!conn.server.resetPeakRss()) errors.push("could not write /proc/PID/clear_refs");
        const s = await streamStdout(conn.client, cfg.rssStreamBytes);
        const peak = conn.server.peakRss();
        errors.push(...s.errors);
        if (!Number.isFinite(peak) || !Number.isFinite(base)) errors.push("could not read VmRSS/VmHWM");
        return {
          value: (peak - base) / 1048576,
          errors,
          facts: { baseMiB: base / 1048576, peakMiB: peak / 1048576 },
        };
      } finally {
        await conn.close();
      }
    },
    verdictNote(f) {
      const show = (x?: Record<string, number>) =>
        x ? `RSS after initialize ${x.baseMiB.toFixed(1)} MiB, peak ${x.peakMiB.toFixed(1)} MiB` : "not run";
      return `mem_growth: ours ${show(f.ours)}; 0.140 ${show(f.codex140)}; 0.171 ${show(f.codex171)}`;
    },
  },
  {
    name: "retained_tiny",
    title: "retained tiny chunks: a live child makes 100,000 one-byte writes, nothing reads them for 5 s; " +
      "server RSS growth per payload byte",
    unit: "B/B",
    referenceHint: "6.6 (0.140), 6.3 (0.171)",
    target: { kind: "ratio<=", value: 4 },
    samples: (c) => Math.max(2, Math.ceil(c.runs / 2)),
    setup: freshCtx,
    async run(ctx, cfg) {
      const conn = startStdio(ctx.spec);
      const client = conn.client;
      const n = cfg.tinyWrites;
      try {
        await withDeadline(client.initialize(), 20000, "initialize");
        // One `true` first, so what a server loads for its first process is not counted as retention.
        const warm = await spawnTrue(client);
        if (warm.errors.length) throw new Error(`warm-up true: ${warm.errors.join("; ")}`);
        const p = watch(client, "tiny");
        const all = Promise.withResolvers<void>();
        p.onOutput = () => {
          if (p.bytes >= n) all.resolve();
        };
        // Perl with autoflush: one write(2) of one byte per print; then it stays alive.
        const program = `$|=1; print "x" for 1..${n}; sleep 60`;
        const base = conn.server.rss();
        const t0 = now();
        await withDeadline(
          client.request("process/start", startParams(client, p.id, ["perl", "-e", program])),
          5000,
          "start perl",
        );
        // The notifications are counted (the bench client cannot refuse them), never read back.
        await withDeadline(all.promise, 30000, `${n} one-byte writes (${p.bytes} seen)`);
        const left = cfg.tinyHoldMs - (now() - t0);
        if (left > 0) await new Promise((r) => setTimeout(r, left)); // the measured idle period
        const grown = conn.server.rss() - base;
        const errors: string[] = [];
        if (p.closedSeq !== 0 || p.exitCode !== null) errors.push("the child did not stay alive");
        if (p.bytes !== n) errors.push(`notifications carried ${p.bytes} bytes, expected ${n}`);
        // Everything is still retained: one process/read from the start gives it all back.
        const r = await withDeadline(
          client.request("process/read", { processId: p.id, afterSeq: 0, maxBytes: null, waitMs: 0 }),
          20000,
          "process/read of the retained output",
        );
        let retained = 0;
        for (const c of r.chunks) retained += Uint8Array.fromBase64(c.chunk).length;
        if (retained !== n) errors.push(`process/read returned ${retained} bytes, expected ${n}`);
        await withDeadline(client.request("process/terminate", { processId: p.id }), 5000, "terminate");
        await withDeadline(p.closed.promise, 5000, "tiny writer closed after terminate");
        return {
          value: grown / n,
          errors,
          facts: { growthMiB: grown / 1048576, notifications: p.outputs, readChunks: r.chunks.length },
        };
      } finally {
        await conn.close();
      }
    },
    verdictNote(f) {
      const show = (x?: Record<string, number>) =>
        x
          ? `RSS +${x.growthMiB.toFixed(1)} MiB, ${x.notifications.toFixed(0)} output notifications, ` +
            `${x.readChunks.toFixed(0)} chunks in the read-back`
          : "not run";
      return `retained_tiny: ours ${show(f.ours)}; 0.140 ${show(f.codex140)}; 0.171 ${show(f.codex171)}`;
    },
  },
  {
    name: "fs_read_block_200mb",
    title: "fs/open + fs/readBlock of 1 MiB blocks (4 in flight) + fs/close, 200 MB file",
    unit: "MB/s",
    referenceHint: "(new)",
    target: { kind: "ratio>=", value: 2, against: ["codex171"] },
    sides: ["ours", "codex171"],
    samples: (c) => c.runs,
    async setup(spec, cfg) {
      const path = `${cfg.dataDir}/block-big.bin`;
      const data = await ensureRandomFile(path, cfg.blockFileBytes);
      const ctx = await stdioCtx(spec);
      return { ...ctx, path: pathFor(spec.dialect, path), data };
    },
    async run(ctx, cfg) {
      const client = ctx.client!;
      const data = ctx.data as Uint8Array;
      const size = cfg.blockBytes;
      const blocks = Math.ceil(data.length / size);
      const handleId = `r${++procCounter}`;
      const errors: string[] = [];
      const t0 = now();
      await withDeadline(client.request("fs/open", { handleId, path: ctx.path }), 5000, "fs/open");
      let next = 0;
      let eofs = 0;
      const worker = async () => {
        while (next < blocks) {
          const i = next++;
          const offset = i * size;
          const r = await client.request("fs/readBlock", { handleId, offset, len: size });
          const got = Uint8Array.fromBase64(r.chunk);
          const want = data.subarray(offset, Math.min(data.length, offset + size));
          if (!equalBytes(got, want)) errors.push(`block ${i}: ${got.length} bytes, content differs`);
          if (r.eof) eofs++;
        }
      };
      await withDeadline(Promise.all([worker(), worker(), worker(), worker()]), 60000, "readBlocks");
      await withDeadline(client.request("fs/close", { handleId }), 5000, "fs/close");
      const secs = (now() - t0) / 1000;
      // 200 MB is not a multiple of 1 MiB: the short last block is the only one marked eof.
      const shortLast = data.length % size !== 0;
      if (eofs !== (shortLast ? 1 : 0)) errors.push(`${eofs} blocks marked eof`);
      return { value: data.length / 1e6 / secs, errors: errors.slice(0, 5) };
    },
  },
  {
    name: "fs_write_block_200mb",
    title: "fs/open (replace) + fs/writeBlock of 1 MiB blocks (4 in flight) + fs/close, 200 MB",
    unit: "MB/s",
    referenceHint: "(new)",
    target: { kind: "ratio>=", value: 2, against: ["codex171"] },
    sides: ["ours", "codex171"],
    samples: (c) => c.runs,
    async setup(spec, cfg) {
      const data = await ensureRandomFile(`${cfg.dataDir}/block-big.bin`, cfg.blockFileBytes);
      const path = `${cfg.dataDir}/block-write-${spec.side}.bin`;
      // The base64 blocks are built once, so the client's encoding is not part of the figure.
      const chunks: string[] = [];
      for (let o = 0; o < data.length; o += cfg.blockBytes) {
        chunks.push(data.subarray(o, Math.min(data.length, o + cfg.blockBytes)).toBase64());
      }
      const ctx = await stdioCtx(spec);
      return { ...ctx, path, uri: pathFor(spec.dialect, path), data, chunks };
    },
    async run(ctx, cfg) {
      const client = ctx.client!;
      const chunks = ctx.chunks as string[];
      await Deno.remove(ctx.path as string).catch(() => {});
      const handleId = `w${++procCounter}`;
      const errors: string[] = [];
      const t0 = now();
      await withDeadline(
        client.request("fs/open", { handleId, path: ctx.uri, mode: "replace" }),
        5000,
        "fs/open",
      );
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) {
          const i = next++;
          await client.requestRaw(
            "fs/writeBlock",
            `{"handleId":"${handleId}","offset":${i * cfg.blockBytes},"chunk":"${chunks[i]}"}`,
          );
        }
      };
      await withDeadline(Promise.all([worker(), worker(), worker(), worker()]), 60000, "writeBlocks");
      await withDeadline(client.request("fs/close", { handleId }), 5000, "fs/close");
      const secs = (now() - t0) / 1000;
      const written = await Deno.readFile(ctx.path as string);
      if (!equalBytes(written, ctx.data as Uint8Array)) {
        errors.push(`file content differs (${written.length} bytes written)`);
      }
      return { value: (ctx.data as Uint8Array).length / 1e6 / secs, errors };
    },
  },
  {
    name: "ws_spawn_true",
    title: "`true` start → closed (WebSocket)",
    unit: "ms",
    referenceHint: "~44 ms",
    target: { kind: "abs<", value: 3 },
    samples: (c) => c.runs * 4,
    setup: wsCtx,
    run: (ctx) => spawnTrue(ctx.client!),
  },
  {
    name: "ws_stdout_notify",
    title: "stdout via process/output (WebSocket)",
    unit: "MB/s",
    referenceHint: "~236 MB/s (0.140)",
    target: { kind: "ratio>=", value: 2 },
    samples: (c) => c.runs,
    setup: wsCtx,
    run: (ctx, cfg) => streamStdout(ctx.client!, cfg.wsStreamBytes),
  },
  {
    name: "ws_stdout_notify_ack",
    title: 'as ws_stdout_notify, ours with the `ackMode:"notification"` extension (reference unchanged)',
    unit: "MB/s",
    referenceHint: "~236 MB/s",
    target: { kind: "none" },
    samples: (c) => c.runs,
    setup: wsCtx,
    run: (ctx, cfg) =>
      streamStdout(ctx.client!, cfg.wsStreamBytes, {
        extra: ctx.spec.side === "ours" ? { ackMode: "notification" } : {},
      }),
  },
  {
    name: "pty_stdout",
    title: "stdout through a PTY (`yes | head -c N`, \\n → \\r\\n)",
    unit: "MB/s",
    referenceHint: "(not given)",
    target: { kind: "none" },
    samples: (c) => c.runs,
    setup: stdioCtx,
    run: (ctx, cfg) =>
      streamStdout(ctx.client!, cfg.ptyBytes, {
        tty: true,
        argv: ["sh", "-c", `yes | head -c ${cfg.ptyBytes}`],
        expect: (cfg.ptyBytes / 2) * 3,
      }),
  },
];

function smallReads(name: string, concurrency: number, hint: string, target: number): Scenario {
  return {
    name,
    title: `fs/readFile 1 KiB, ${concurrency} in flight`,
    unit: "ops/s",
    referenceHint: hint,
    target: { kind: "ratio>=", value: target },
    samples: (c) => c.runs,
    async setup(spec, cfg) {
      const path = `${cfg.dataDir}/small-1k.bin`;
      const data = await ensureRandomFile(path, 1024);
      const ctx = await stdioCtx(spec);
      return { ...ctx, path: pathFor(spec.dialect, path), expected: data.toBase64() };
    },
    async run(ctx, cfg) {
      const client = ctx.client!;
      const total = cfg.smallOps;
      const params = { path: ctx.path };
      let issued = 0;
      let bad = 0;
      const worker = async () => {
        while (issued < total) {
          issued++;
          const r = await client.request("fs/readFile", params);
          if (r.dataBase64 !== ctx.expected) bad++;
        }
      };
      const t0 = now();
      await withDeadline(
        Promise.all(Array.from({ length: concurrency }, worker)),
        60000,
        `${total} small reads`,
      );
      const secs = (now() - t0) / 1000;
      return { value: total / secs, errors: bad ? [`${bad} reads returned wrong data`] : [] };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Compare 4 bytes at a time where aligned; falls back to bytes for the tail.
  const n4 = a.length >> 2;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const a32 = new Uint32Array(a.buffer, a.byteOffset, n4);
    const b32 = new Uint32Array(b.buffer, b.byteOffset, n4);
    for (let i = 0; i < n4; i++) if (a32[i] !== b32[i]) return false;
    for (let i = n4 * 4; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const fileCache = new Map<string, Uint8Array>();

/** A file of `size` random bytes (created once per bench run). */
async function ensureRandomFile(path: string, size: number): Promise<Uint8Array> {
  const cached = fileCache.get(path);
  if (cached && cached.length === size) return cached;
  const data = new Uint8Array(size);
  for (let o = 0; o < size; o += 65536) crypto.getRandomValues(data.subarray(o, Math.min(size, o + 65536)));
  await Deno.writeFile(path, data);
  fileCache.set(path, data);
  return data;
}

/** Checks an `fs/readFile` result (parsed or raw) against the expected bytes. */
// deno-lint-ignore no-explicit-any -- a raw reply, checked field by field here
function checkReadFile(r: any, expected: Uint8Array): string[] {
  let b64: string;
  if (r && typeof r === "object" && "raw" in r) {
    const raw = (r as RawResult).raw;
    const text = typeof raw === "string" ? raw : latin1.decode(raw);
    const tag = '"dataBase64":"';
    const at = text.indexOf(tag);
    if (at === -1) return [`no dataBase64 in ${text.slice(0, 80)}`];
    const end = text.indexOf('"', at + tag.length);
    b64 = text.slice(at + tag.length, end);
  } else if (typeof r?.dataBase64 === "string") {
    b64 = r.dataBase64;
  } else {
    return [`bad result ${JSON.stringify(r).slice(0, 80)}`];
  }
  let data: Uint8Array;
  try {
    data = Uint8Array.fromBase64(b64);
  } catch (e) {
    return [`bad base64: ${(e as Error).message}`];
  }
  return equalBytes(data, expected)
    ? []
    : [`content differs (${data.length} bytes, expected ${expected.length})`];
}

/** Sends a request whose params are pre-encoded bytes (no per-run string building of 67 MB). */
// deno-lint-ignore no-explicit-any -- a raw reply, checked by the caller
function requestBytes(client: StdioClient, method: string, params: Uint8Array): Promise<any> {
  return client.requestWithBytes(method, params);
}
