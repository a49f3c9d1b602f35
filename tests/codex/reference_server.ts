/**
 * Starts the reference exec-server (`codex exec-server --listen ws://127.0.0.1:0`) for harness
 * self-tests.
 *
 * @module
 */

import { statusWithin, stopGroup, StreamText } from "./process_group.ts";

/** Options for {@linkcode startReferenceServer}. */
export interface ReferenceServerOptions {
  /** Path of the `codex` binary that provides `exec-server`. */
  codex: string;
  /** Extra environment for the server (e.g. `SERVER_TAG`). */
  env?: Record<string, string>;
  /** The server's `CODEX_HOME`; a scratch dir is created (and removed on close) when omitted. */
  codexHome?: string;
  /** Extra `exec-server` arguments after `--listen ws://127.0.0.1:0`. */
  args?: string[];
  /** How long to wait for the bound URL. Default 15 s. */
  startTimeoutMs?: number;
}

/** A running reference exec-server. */
export interface ReferenceServer {
  /** The bound `ws://127.0.0.1:PORT` URL it printed. */
  readonly url: string;
  readonly pid: number;
  /** Stderr collected so far. */
  stderr(): string;
  /** Stops the server's process group and removes a scratch home. */
  close(): Promise<void>;
}

/** Spawns `codex exec-server --listen ws://127.0.0.1:0` and waits for its single stdout line (the URL). */
export async function startReferenceServer(options: ReferenceServerOptions): Promise<ReferenceServer> {
  const ownHome = options.codexHome === undefined;
  const codexHome = options.codexHome ?? await Deno.makeTempDir({ prefix: "ref-exec-server-home-" });
  const env: Record<string, string> = { ...Deno.env.toObject(), ...options.env, CODEX_HOME: codexHome };
  delete env.CODEX_EXEC_SERVER_URL;
  const child = new Deno.Command(options.codex, {
    args: ["exec-server", "--listen", "ws://127.0.0.1:0", ...(options.args ?? [])],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const stderr = new StreamText(child.stderr);
  const stdout = new FirstLine(child.stdout);
  const cleanup = async () => {
    await stopGroup(child);
    await stderr.finish(1000);
    await stdout.finish();
    if (ownHome) await Deno.remove(codexHome, { recursive: true }).catch(() => {});
  };
  try {
    const url = await stdout.line(options.startTimeoutMs ?? 15_000);
    if (!/^wss?:\/\/127\.0\.0\.1:\d+\/?$/.test(url)) {
      throw new Error(`unexpected exec-server stdout line: ${url}`);
    }
    return { url, pid: child.pid, stderr: () => stderr.text, close: cleanup };
  } catch (err) {
    const status = await statusWithin(child, 0);
    await cleanup();
    throw new Error(
      `reference exec-server did not report its URL (${err}); exited=${
        status?.code ?? "no"
      }; stderr:\n${stderr.text}`,
    );
  }
}

/** Reads a stream's first line, then keeps draining it so the server never blocks on a full pipe. */
class FirstLine {
  #firstLine = Promise.withResolvers<string>();
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
    this.#done = this.#pump();
    this.#firstLine.promise.catch(() => {}); // observed via line(); avoid an unhandled rejection
  }

  async #pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    let found = false;
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (found) continue; // discard anything after the first line
        buf += decoder.decode(value, { stream: true });
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          found = true;
          this.#firstLine.resolve(buf.slice(0, nl).trim());
        }
      }
    } catch {
      // Cancelled on close.
    }
    this.#firstLine.reject(new Error(`stdout closed after ${JSON.stringify(buf)}`));
  }

  /** The first line, or a rejection after `ms`. */
  async line(ms: number): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no line within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.#firstLine.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading and waits for the pump to end. */
  async finish(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#done;
  }
}
