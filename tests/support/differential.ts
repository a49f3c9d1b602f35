/**
 * Differential testing against the reference: the same request sequence sent to the real Codex 0.171
 * exec-server and to ours (both over stdio, each with a fresh fixture directory `w`) must record the same
 * results, error codes and messages (ours may add `for field ...`), notifications and facts.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Json, RpcPeer } from "./rpc_peer.ts";
import { startReferenceStdio } from "./reference_stdio.ts";
import { startStdioServer } from "./servers.ts";
import { withTimeout } from "./waiting.ts";

/** One step of a sequence; `w` is the fixture directory of the server under test. */
export type Step =
  | { call: string; params: (w: string) => unknown; only?: "ok" | "code" }
  | { notify: string }
  | { act: (w: string) => unknown }
  | { fact: (w: string) => unknown }
  | { notifications: number }
  /** A process's outcome once closed: its decoded output per stream, `exited`, and a read's status. */
  | { outcome: string };

export const u = (w: string, rel = "") => `file://${w}${rel === "" ? "" : "/" + rel}`;
/**
 * `only: "code"` compares the error code alone, for serde wordings ours does not copy (documented as
 * allowed in codex-0171-methods.md, section K): ``expected u64`` / ``expected string or map`` /
 * ``expected `a` or `b` `` / ``invalid type: number`` where ours says ``expected a number`` /
 * ``expected one of `a`, `b` `` / ``invalid type: integer `5` ``.
 */
export const call = (method: string, params: (w: string) => unknown, only?: "ok" | "code"): Step => ({
  call: method,
  params,
  only,
});
export const b64 = (text: string) => new TextEncoder().encode(text).toBase64();

function normalize(value: unknown, w: string): Json {
  return JSON.parse(JSON.stringify(value ?? null).replaceAll(w, "W"));
}

async function run(peer: RpcPeer, w: string, steps: Step[]): Promise<Json[]> {
  const record: Json[] = [];
  for (const step of steps) {
    if ("call" in step) {
      // Bounded: a request that never answers (a FIFO read waiting for a writer) fails the test.
      const reply = await withTimeout(peer.request(step.call, step.params(w)), 20_000, step.call);
      if (reply.error) {
        const message = reply.error.message.replace(/ for field `[^`]*`$/, "");
        const error = step.only === "code" ? { code: reply.error.code } : {
          code: reply.error.code,
          message: normalize(message, w),
          ...(reply.error.data === undefined ? {} : { data: normalize(reply.error.data, w) }),
        };
        record.push({ [step.call]: error });
      } else {
        record.push({ [step.call]: step.only === "ok" ? "ok" : normalize(reply.result, w) });
      }
    } else if ("notify" in step) {
      peer.notify(step.notify);
    } else if ("act" in step) {
      await step.act(w);
    } else if ("fact" in step) {
      record.push({ fact: normalize(await step.fact(w), w) });
    } else if ("outcome" in step) {
      record.push({ outcome: normalize(await outcome(peer, step.outcome), w) });
    } else {
      await peer.until(() => peer.notifications.length >= step.notifications, "notifications", 10_000);
      record.push({ notifications: normalize(peer.notifications.map((n) => [n.method, n.params]), w) });
    }
  }
  return record;
}

/** Output chunking is the kernel's: compare a process by what it wrote and how it ended, not by chunks. */
async function outcome(peer: RpcPeer, processId: string): Promise<Json> {
  const events = await peer.waitClosed(processId, 10_000);
  const output: Record<string, string> = {};
  for (const event of events) {
    if (event.method !== "process/output") continue;
    const { stream, chunk } = event.params;
    output[stream] = (output[stream] ?? "") + new TextDecoder().decode(Uint8Array.fromBase64(chunk));
  }
  const exited = events.find((e) => e.method === "process/exited")?.params ?? null;
  const read = await peer.call("process/read", { processId, afterSeq: 0 });
  return {
    output,
    exited: exited && { exitCode: exited.exitCode, sandboxDenied: exited.sandboxDenied },
    read: {
      exited: read.exited,
      exitCode: read.exitCode,
      closed: read.closed,
      sandboxDenied: read.sandboxDenied,
    },
  };
}

/** Drops our extension members (`droppedBytes`, ...) wherever they occur, so only the reference's are compared. */
function withoutMembers(value: Json, names: readonly string[]): Json {
  if (Array.isArray(value)) return value.map((item) => withoutMembers(item, names));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).filter(([key]) => !names.includes(key)).map((
      [key, item],
    ) => [key, withoutMembers(item, names)]),
  );
}

/**
 * Runs `steps` on the reference, then on ours, each with a fresh fixture made by `setup`. `extensions`
 * names members only ours sends (allowed on the wire), left out of the comparison. `env` adds variables
 * to both servers' environment (`HOME`, `CODEX_HOME` inside the fixture; it runs before they start, so it
 * may also make fixture files a server should find at start-up); `tempRoot` is where the fixture
 * is made (default the system temp dir; the reference refuses a `CODEX_HOME` under it); `wrap` runs both
 * under a command prefix.
 */
export async function compare(
  setup: (w: string) => Promise<void> | void,
  steps: Step[],
  options: {
    handshake?: boolean;
    extensions?: readonly string[];
    env?: (w: string) => Record<string, string> | Promise<Record<string, string>>;
    tempRoot?: string;
    /** An argv prefix both servers run under, made once `env` ran (`unshare ...`). */
    wrap?: (w: string) => string[];
    /**
     * How often the reference may be run to match ours (default 1). For behaviour where the reference
     * itself is nondeterministic under load (its skill scan sometimes drops a root): ours runs once and
     * must equal one of the reference's runs.
     */
    referenceRuns?: number;
  } = {},
): Promise<void> {
  const once = async (which: "reference" | "ours"): Promise<Json[]> => {
    const w = await Deno.realPath(
      await Deno.makeTempDir({ prefix: `fs-diff-${which}-`, dir: options.tempRoot }),
    );
    const env = await options.env?.(w);
    const wrap = options.wrap?.(w) ?? [];
    const server = which === "reference"
      ? await startReferenceStdio(env, wrap)
      : startStdioServer([], env, wrap);
    const peer = server.peer!;
    try {
      await setup(w);
      if (options.handshake !== false) await peer.handshake();
      return await run(peer, w, steps);
    } finally {
      await server.close();
      await Deno.remove(w, { recursive: true }).catch(() => {});
    }
  };
  let reference = await once("reference");
  const ours = withoutMembers(await once("ours"), options.extensions ?? []);
  const same = (a: Json[], b: Json[]) => JSON.stringify(a) === JSON.stringify(b);
  for (let run = 1; run < (options.referenceRuns ?? 1) && !same(ours, reference); run++) {
    reference = await once("reference");
  }
  for (let i = 0; i < reference.length; i++) {
    assert.deepEqual(ours[i], reference[i], `step ${i}: ours ${JSON.stringify(ours[i])}`);
  }
  assert.equal(ours.length, reference.length);
}
