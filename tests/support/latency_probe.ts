/**
 * A separate client process that measures a server's responsiveness: connects to the URL in argv[0],
 * prints "ready", then times `environment/info` calls back to back until its stdin closes, and prints the
 * latencies (ms) as one JSON array. Being its own process, it measures the server, not the test's own
 * event loop.
 *
 * @module
 */
import { connectWebSocket } from "./servers.ts";

if (import.meta.main) {
  const peer = await connectWebSocket(Deno.args[0]);
  await peer.handshake();
  let stopped = false;
  const stdinClosed = (async () => {
    for await (const _ of Deno.stdin.readable) { /* until EOF */ }
    stopped = true;
  })();
  // The first calls pay for compilation and caches; only steady-state latency is of interest.
  for (let i = 0; i < 20; i++) await peer.call("environment/info");
  console.log("ready");
  const latencies: number[] = [];
  while (!stopped) {
    const sent = performance.now();
    await peer.call("environment/info");
    latencies.push(performance.now() - sent);
  }
  await stdinClosed;
  console.log(JSON.stringify(latencies));
  peer.close();
}

/** A running probe: `stop()` ends it and resolves with its latencies (ms). */
export interface LatencyProbe {
  stop(): Promise<number[]>;
}

/** Starts a probe process against `url` and resolves once it is connected and measuring. */
export async function startLatencyProbe(url: string): Promise<LatencyProbe> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, url],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the latency probe exited before it was ready");
    text += value;
  }
  text = text.slice(text.indexOf("ready\n") + 6);
  return {
    async stop() {
      await child.stdin.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      await child.status;
      return JSON.parse(text.trim()) as number[];
    },
  };
}
