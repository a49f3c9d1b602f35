/**
 * Spawns a child with pipes, in its own session and process group (setsid), with an exact environment.
 *
 * `Deno.Command` has no argv[0] override, so a child whose `arg0` differs from its program is spawned
 * through `node:child_process`, which has one; both paths present the same {@link SpawnedChild}.
 *
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { RpcError } from "../protocol/errors.ts";
import type { ExitStatus, SpawnedChild } from "./child.ts";
import { osErrorMessage } from "../fs/os_error.ts";
import { spawnErrorMessage } from "./spawn_error.ts";

/** What to run. */
export interface PipeSpawnOptions {
  /** Program: a path, or a bare name looked up in `env.PATH` (else the server's PATH). */
  program: string;
  /** Arguments after argv[0]. */
  args: string[];
  /** argv[0] as the child sees it; `undefined` means the program name. */
  arg0?: string;
  cwd: string;
  env: Record<string, string>;
  pipeStdin: boolean;
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Spawns the child; throws `RpcError(-32603)` with the OS text on failure. */
export function spawnWithPipes(options: PipeSpawnOptions): SpawnedChild {
  if (options.program === "") throw RpcError.internal("missing program for pipe spawn");
  return options.arg0 !== undefined && options.arg0 !== options.program
    ? spawnNode(options)
    : spawnDeno(options);
}

function spawnDeno(options: PipeSpawnOptions): SpawnedChild {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.program, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: options.pipeStdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    throw RpcError.internal(spawnErrorMessage(error), error);
  }
  const writer = options.pipeStdin ? child.stdin.getWriter() : null;
  let stdinClosed = false;
  return {
    pid: child.pid,
    outputs: [{ name: "stdout", stream: child.stdout }, { name: "stderr", stream: child.stderr }],
    writeStdin: writer ? (data) => writer.write(data) : null,
    closeStdin: writer
      ? async () => {
        if (stdinClosed) return;
        stdinClosed = true;
        await writer.close().catch(() => {});
      }
      : null,
    resize: null,
    status: child.status.then((s) => ({
      code: s.code,
      signal: s.signal ? SIGNAL_NUMBERS[s.signal] ?? null : null,
    })),
    dispose() {
      if (writer && !stdinClosed) {
        stdinClosed = true;
        writer.close().catch(() => {});
      }
    },
  };
}

function spawnNode(options: PipeSpawnOptions): SpawnedChild {
  // node:child_process reports a bad cwd asynchronously; check it first for a synchronous, exact error.
  try {
    if (!Deno.statSync(options.cwd).isDirectory) throw RpcError.internal(osErrorMessage(20));
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw RpcError.internal(spawnErrorMessage(error), error);
  }
  const child = nodeSpawn(options.program, options.args, {
    argv0: options.arg0,
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: [options.pipeStdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) {
    throw RpcError.internal(osErrorMessage(2));
  }
  const status = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      const number = signal ? SIGNAL_NUMBERS[signal] ?? null : null;
      resolve({ code: code ?? (number !== null ? 128 + number : -1), signal: number });
    });
  });
  const stdin = child.stdin;
  return {
    pid: child.pid,
    outputs: [
      { name: "stdout", stream: nodeReadableToWeb(child.stdout!) },
      { name: "stderr", stream: nodeReadableToWeb(child.stderr!) },
    ],
    writeStdin: stdin
      ? (data) =>
        new Promise<void>((resolve, reject) =>
          stdin.write(data, (error) => (error ? reject(error) : resolve()))
        )
      : null,
    closeStdin: stdin ? () => new Promise<void>((resolve) => stdin.end(resolve)) : null,
    resize: null,
    status,
    dispose() {
      stdin?.destroy();
    },
  };
}

/** A node Readable as a pull-based web stream (pausing the node stream applies backpressure). */
function nodeReadableToWeb(readable: import("node:stream").Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      readable.pause();
      readable.on("data", (data: Uint8Array) => {
        controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) readable.pause();
      });
      readable.once("end", () => controller.close());
      readable.once("error", (error) => controller.error(error));
    },
    pull() {
      readable.resume();
    },
    cancel() {
      readable.destroy();
    },
  }, { highWaterMark: 1 });
}
