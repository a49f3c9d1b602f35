/**
 * A minimal JSON-RPC client that drives an exec-server program over `--listen stdio` (one JSON message per
 * line), for the build's smoke tests and tests/build_test.ts. Self-contained: no imports from src/.
 *
 * @module
 */

/** A parsed JSON-RPC message. */
// deno-lint-ignore no-explicit-any
export type Message = any;

/** How to start the program under test. */
export interface SpawnSpec {
  /** Program and arguments before `--listen stdio`, e.g. `["dist/exec-server.js"]` or `["unshare", "-n", "./x"]`. */
  command: string[];
  cwd?: string;
  /** The child's complete environment (it does not inherit ours when given). */
  env?: Record<string, string>;
}

/** One running `--listen stdio` server and the messages it has sent. */
export class StdioClient {
  readonly messages: Message[] = [];
  stderr = "";
  exited = false;
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pumps: Promise<void>[];
  #waiters: Array<() => void> = [];
  #nextId = 1;

  constructor(spec: SpawnSpec) {
    const [program, ...args] = spec.command;
    this.#child = new Deno.Command(program, {
      args: [...args, "--listen", "stdio"],
      cwd: spec.cwd,
      env: spec.env,
      clearEnv: spec.env !== undefined,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.status = this.#child.status.then((status) => {
      this.exited = true;
      this.#notify();
      return status;
    });
    this.#pumps = [this.#readStdout(), this.#readStderr()];
  }

  async #readStdout(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.#child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === "") continue;
        try {
          this.messages.push(JSON.parse(line));
        } catch {
          this.messages.push({ unparsed: line });
        }
      }
      this.#notify();
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) this.stderr += decoder.decode(chunk, { stream: true });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Sends one message as a line. */
  async send(message: unknown): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  }

  /** Sends a request and returns its reply (result or error), failing on exit or timeout. */
  async request(method: string, params: unknown, timeoutMs = 15_000): Promise<Message> {
    const id = this.#nextId++;
    await this.send({ id, method, params });
    return await this.waitFor((m) => m.id === id && !("method" in m), `reply to ${method}`, timeoutMs);
  }

  /** Waits for a received message matching `predicate`. */
  async waitFor(
    predicate: (message: Message) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (this.exited) {
        await this.#pumps[0].catch(() => {});
        const late = this.messages.find(predicate);
        if (late) return late;
        throw new Error(`server exited before ${what}; stderr: ${this.stderr.trim() || "(empty)"}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Text of all `process/output` chunks of one process so far (base64-decoded, in seq order). */
  outputOf(processId: string): string {
    const chunks = this.messages
      .filter((m) => m.method === "process/output" && m.params?.processId === processId)
      .sort((a, b) => a.params.seq - b.params.seq)
      .map((m) => Uint8Array.from(atob(m.params.chunk), (c) => c.charCodeAt(0)));
    const decoder = new TextDecoder();
    return chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
  }

  /** Waits until the output of `processId` matches `pattern`; returns the output. */
  async waitForOutput(processId: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    await this.waitFor(
      () => pattern.test(this.outputOf(processId)),
      `output of ${processId} matching ${pattern}`,
      timeoutMs,
    )
      .catch((error) => {
        throw new Error(`${error.message}; output so far: ${JSON.stringify(this.outputOf(processId))}`);
      });
    return this.outputOf(processId);
  }

  /** Closes stdin (the server should exit), then kills the server if it is still running after `graceMs`. */
  async close(graceMs = 5_000): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, graceMs);
    try {
      const status = await this.status;
      await Promise.all(this.#pumps).catch(() => {});
      return status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs `command` to completion and returns its exit code and text output (with a timeout). */
export async function runText(
  command: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}
