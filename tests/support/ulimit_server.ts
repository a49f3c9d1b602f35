/**
 * A real `main.ts` server started under a bash `ulimit` (e.g. `-n 200` or `-S -n 256`), for tests of the
 * open-file limit.
 *
 * @module
 */
import { MAIN_TS } from "./servers.ts";
import { withTimeout } from "./waiting.ts";

/** A running server subprocess. */
export interface UlimitServer {
  url: string;
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  /** Everything the server wrote to stderr (resolves once it exited). */
  stderr: Promise<string>;
  close(): Promise<void>;
}

/** Starts `main.ts serve` with `ulimit ${ulimit}` and extra serve `args`; resolves once it printed its URL. */
export async function startUlimitServer(ulimit: string, args: string[] = []): Promise<UlimitServer> {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit ${ulimit} && exec '${Deno.execPath()}' run -A --quiet '${MAIN_TS}' --listen ws://127.0.0.1:0 ${quoted}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await reader.cancel().catch(() => {});
    await stderr;
  };
  try {
    let url = "";
    while (!url.includes("\n")) {
      const { value, done } = await withTimeout(reader.read(), 30_000, "server URL");
      if (done) throw new Error(`server exited before printing its URL: ${await stderr}`);
      url += value;
    }
    url = url.trim();
    return { url, port: Number(new URL(url).port), pid: child.pid, child, stderr, close };
  } catch (error) {
    await close();
    throw error;
  }
}
