/**
 * Disconnect/resume cycles against a WebSocket server, shared by `tests/session_resume_test.ts` and
 * `bench/soak.ts`: a child prints a numbered line every few ms; the client's link is cut (abruptly via a
 * TCP proxy, by a clean close, or left half-open and taken over by a new connection), it resumes the
 * session and catches up with `process/read` from its last seq. The caller checks the collected text.
 *
 * @module
 */
import { connectWebSocket } from "./servers.ts";
import { b64text, type RpcPeer } from "./rpc_peer.ts";
import { startTcpProxy } from "./tcp_proxy.ts";
import { withTimeout } from "./waiting.ts";

/** How a cycle drops its connection. */
export type DropMode = "kill" | "close" | "takeover";

/** What a run of cycles observed. */
export interface ResumeCyclesResult {
  /** Everything read with process/read, concatenated in seq order. */
  text: string;
  cycles: number;
  reads: number;
  /** Chunks whose seq was not above the cursor (must be 0). */
  duplicateChunks: number;
  /** Drops per mode. */
  drops: Record<DropMode, number>;
  /** Resumes that echoed a different session id (must be 0). */
  wrongSession: number;
  wallMs: number;
}

/** The counter script: line `i` for i = 0.., one every `intervalSec`, bounded by `limit` lines. */
export function counterScript(intervalSec: number, limit = 1_000_000): string {
  return `i=0; while [ $i -lt ${limit} ]; do echo $i; i=$((i+1)); sleep ${intervalSec}; done`;
}

/** Checks that `text` is exactly "0\n1\n...\nK\n"; returns K+1, or throws naming the first bad line. */
export function checkCounterText(text: string): number {
  const lines = text.split("\n");
  if (lines.at(-1) !== "") {
    throw new Error(`output does not end with a newline: ${JSON.stringify(text.slice(-40))}`);
  }
  lines.pop();
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== String(i)) {
      throw new Error(`line ${i} is ${JSON.stringify(lines[i])} (previous ${JSON.stringify(lines[i - 1])})`);
    }
  }
  return lines.length;
}

/** Runs `cycles` disconnect/resume cycles against `serverUrl`; modes rotate kill, close, takeover. */
export async function runResumeCycles(
  serverUrl: string,
  cycles: number,
  options: { intervalSec?: number; env?: Record<string, string>; processId?: string } = {},
): Promise<ResumeCyclesResult> {
  const started = performance.now();
  const proxy = startTcpProxy(serverUrl);
  const processId = options.processId ?? "counter";
  const env = { PATH: "/usr/bin:/bin", ...options.env };
  const result: ResumeCyclesResult = {
    text: "",
    cycles: 0,
    reads: 0,
    duplicateChunks: 0,
    drops: { kill: 0, close: 0, takeover: 0 },
    wrongSession: 0,
    wallMs: 0,
  };
  let afterSeq = 0;
  const peers: RpcPeer[] = [];
  const connect = async () => {
    const peer = await withTimeout(connectWebSocket(proxy.url), 10_000, "websocket connect");
    peers.push(peer);
    return peer;
  };
  /** One read from the cursor; returns whether anything new came back. */
  const readOnce = async (peer: RpcPeer, waitMs: number) => {
    const read = await withTimeout(
      peer.call("process/read", { processId, afterSeq, waitMs }),
      waitMs + 10_000,
      `process/read after ${afterSeq}`,
    );
    result.reads++;
    for (const chunk of read.chunks) {
      if (chunk.seq <= afterSeq) {
        result.duplicateChunks++;
        continue;
      }
      result.text += b64text(chunk.chunk);
      afterSeq = chunk.seq;
    }
    return read;
  };
  /** Catches up with everything retained, then long-polls for at least one fresh chunk. */
  const catchUp = async (peer: RpcPeer) => {
    for (let i = 0; i < 10_000; i++) {
      const read = await readOnce(peer, 0);
      if (read.chunks.length === 0) break;
    }
    for (let i = 0; i < 100; i++) {
      const read = await readOnce(peer, 2_000);
      if (read.chunks.length > 0 || read.closed) break;
    }
  };
  try {
    let peer = await connect();
    const sessionId = await withTimeout(peer.handshake(), 10_000, "initialize");
    await withTimeout(
      peer.call("process/start", {
        processId,
        argv: ["bash", "-c", counterScript(options.intervalSec ?? 0.003)],
        cwd: "/tmp",
        env,
        tty: false,
      }),
      10_000,
      "process/start",
    );
    const modes: DropMode[] = ["kill", "close", "takeover"];
    for (let cycle = 0; cycle < cycles; cycle++) {
      await catchUp(peer);
      const mode = modes[cycle % modes.length];
      const old = peer;
      if (mode === "kill") proxy.kill();
      else if (mode === "close") old.close();
      if (mode !== "takeover") await withTimeout(old.closed, 10_000, `client side of ${mode}`);
      peer = await connect();
      const resumed = await withTimeout(peer.handshake(sessionId), 10_000, "initialize with resumeSessionId");
      if (resumed !== sessionId) result.wrongSession++;
      // A half-open connection that was taken over is closed by the server.
      if (mode === "takeover") {
        await withTimeout(old.closed, 10_000, "server closing the taken-over connection");
      }
      result.drops[mode]++;
      result.cycles++;
    }
    await catchUp(peer);
    await withTimeout(peer.call("process/terminate", { processId }), 10_000, "process/terminate");
    for (let i = 0; i < 10_000; i++) {
      const read = await readOnce(peer, 2_000);
      if (read.closed && read.chunks.length === 0) break;
    }
    result.wallMs = performance.now() - started;
    return result;
  } finally {
    for (const peer of peers) peer.close();
    proxy.close();
  }
}
