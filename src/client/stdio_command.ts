/**
 * Spawning an exec-server as a child that speaks NDJSON on its stdin/stdout (e.g. `ssh host exec-server
 * --listen stdio`), with Codex's lifecycle: no shell, env added to ours, its own process group, stderr
 * only logged at debug, and SIGTERM to the group then SIGKILL after 2 s when the client is done.
 *
 * @module
 */
import { StreamTransport } from "../rpc/stream_transport.ts";
import type { MessageTransport } from "../rpc/transport.ts";
import { log } from "../util/log.ts";
import { ExecServerClientError } from "./client_error.ts";

/** The command that starts a stdio exec-server. */
export interface StdioCommand {
  /** Executed directly with a PATH lookup (no shell). */
  program: string;
  args?: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Working directory; inherited when absent. */
  cwd?: string;
}

/** Grace between SIGTERM and SIGKILL to the child's process group (Codex: 2 s). */
export const STDIO_TERMINATE_GRACE_MS = 2_000;

/** A spawned stdio exec-server: its transport and the routine that ends its process group. */
export interface SpawnedStdioServer {
  transport: MessageTransport;
  /** The child's pid (also its process group id). */
  pid: number;
  /** SIGTERM to the group, SIGKILL after the grace (also when the child already exited, to reap helpers). */
  terminate(): Promise<void>;
  /** The last lines the child wrote to stderr (for error messages when the handshake fails). */
  stderrTail(): string;
}

/** Spawns `command`. @throws {ExecServerClientError} `kind: "spawn"`. */
export function spawnStdioServer(command: StdioCommand): SpawnedStdioServer {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command.program, {
      args: command.args ?? [],
      env: command.env,
      cwd: command.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // setsid(): its own process group, so terminate() reaches everything it started.
      detached: true,
    }).spawn();
  } catch (error) {
    throw new ExecServerClientError("spawn", `failed to spawn exec-server: ${osErrorText(error)}`, {
      cause: error,
    });
  }
  const pid = child.pid;
  const tail: string[] = [];
  logStderr(child.stderr, tail);
  const status = child.status;
  let terminating: Promise<void> | null = null;
  const transport = new StreamTransport(child.stdout, child.stdin, { description: "exec-server stdio" });
  return {
    transport,
    pid,
    stderrTail: () => tail.join("\n"),
    terminate() {
      terminating ??= (async () => {
        transport.close("exec-server client closed");
        signalGroup(pid, "SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          status,
          new Promise((resolve) => timer = setTimeout(resolve, STDIO_TERMINATE_GRACE_MS)),
        ]);
        clearTimeout(timer);
        signalGroup(pid, "SIGKILL");
        await status;
      })();
      return terminating;
    },
  };
}

function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

const STDERR_TAIL_LINES = 5;

async function logStderr(stream: ReadableStream<Uint8Array>, tail: string[]): Promise<void> {
  let rest = "";
  const keep = (line: string) => {
    log.debug(`exec-server stdio stderr: ${line}`);
    if (line.trim() === "") return;
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  };
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) keep(line);
    }
  } catch {
    // The pipe broke: nothing more to log.
  }
  if (rest) keep(rest);
}

/** Rust-style OS error text (`No such file or directory (os error 2)`) from a Deno error. */
function osErrorText(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  // Deno: "Failed to spawn 'x': No such file or directory (os error 2)".
  return message.replace(/^Failed to spawn '[^']*': /, "");
}
