/**
 * `process/*` handlers: validated params to the session's process table, plus what the server adds
 * around a start: the per-connection spawn rate limit and the bubblewrap wrapping of a restricted sandbox.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import {
  ProcessAck,
  ProcessCloseStdin,
  ProcessRead,
  ProcessResize,
  ProcessSignal,
  ProcessStart,
  ProcessTerminate,
  ProcessWrite,
} from "../protocol/methods.ts";
import type { ProcessTable } from "../process/process_table.ts";
import type { ProcessStartParams } from "../protocol/process.ts";
import { bwrapArgv, findBwrap, sandboxPlan, trackSandboxedProcess } from "../sandbox/mod.ts";
import { Base64DecodeError, decodeBase64 } from "../util/base64.ts";
import { type MethodTable, PerConnection } from "./method_table.ts";
import { SpawnRateLimiter } from "./spawn_rate.ts";
import type { AuditEvents } from "./audit.ts";

/** Options the process methods need from the server. */
export interface ProcessMethodOptions {
  /** Turns `cwd` (native path, `file:` URI, or relative) into a native path. */
  resolveCwd(cwd: string): string;
  /** Process starts allowed per second per connection. */
  maxSpawnRate: number;
  /** Where starts and exits are reported. */
  audit: AuditEvents;
}

function requireProcess(table: ProcessTable, processId: string) {
  const process = table.get(processId);
  if (process) return process;
  throw RpcError.invalidRequest(`unknown process id ${processId}`);
}

/** Strict base64 for params: a bad payload is -32602 with the Rust crate's text, as in the reference. */
export function decodeParamBase64(text: string): Uint8Array {
  try {
    return decodeBase64(text);
  } catch (error) {
    if (error instanceof Base64DecodeError) throw RpcError.invalidParams(error.message);
    throw error;
  }
}

/** System paths a sandboxed command needs to start when the profile does not make `/` readable. */
const SYSTEM_READ_ONLY = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"];

/**
 * The bubblewrap prefix for a `process/start` with a restricted `sandbox` (0.140.0 ignores it and runs
 * the command unsandboxed; we enforce it, or refuse when it cannot be enforced).
 */
function sandboxWrapper(
  params: ProcessStartParams,
  resolveCwd: (cwd: string) => string,
): string[] | undefined {
  const plan = sandboxPlan(params.sandbox);
  if (plan.kind === "direct") return undefined;
  const bwrap = findBwrap();
  if (bwrap === null) {
    throw RpcError.internal(
      "process/start asked for a restricted sandbox, but bubblewrap (bwrap) is not installed on this host; " +
        "refusing to run the command unsandboxed",
    );
  }
  return bwrapArgv(plan, {
    bwrap,
    cwd: resolveCwd(params.cwd),
    extraReadOnly: SYSTEM_READ_ONLY,
    // A PTY child needs its controlling terminal; a pipe child gets no terminal to inject into.
    newSession: !params.tty,
  });
}

/** Registers every `process/*` method. */
export function registerProcessMethods(methods: MethodTable, options: ProcessMethodOptions): void {
  const spawnRate = new PerConnection(() => new SpawnRateLimiter(options.maxSpawnRate));
  methods
    .register(ProcessStart, (params, { session, perConnection }) => {
      perConnection(spawnRate).take();
      const wrapper = sandboxWrapper(params, options.resolveCwd);
      const process = session.processes.start(params, options.resolveCwd, wrapper);
      // Synchronously after the spawn: its tree may not connect back to this server (peer_check.ts).
      if (wrapper) trackSandboxedProcess(process.pid);
      const { audit } = options;
      const sessionId = session.id;
      audit.emit({
        type: "process.start",
        sessionId,
        processId: params.processId,
        pid: process.pid,
        argv: params.argv,
        cwd: options.resolveCwd(params.cwd),
        tty: params.tty,
        sandboxed: wrapper !== undefined,
      });
      process.whenExited().then(({ code, signal, durationMs, outputBytes }) =>
        audit.emit({
          type: "process.exit",
          sessionId,
          processId: params.processId,
          exitCode: code,
          signal,
          durationMs,
          outputBytes,
        })
      );
      // Codex's name for any start that carried a sandbox context (ours is bubblewrap, where restricted).
      return { processId: params.processId, sandboxType: params.sandbox != null ? "linuxSeccomp" : "none" };
    })
    .register(
      ProcessRead,
      (params, { session, signal }) =>
        requireProcess(session.processes, params.processId).read(
          params.afterSeq ?? 0,
          params.maxBytes ?? Number.POSITIVE_INFINITY,
          params.waitMs ?? 0,
          signal,
        ),
    )
    .register(ProcessWrite, async (params, { session }) => {
      const bytes = decodeParamBase64(params.chunk);
      const process = session.processes.get(params.processId);
      if (!process) return { status: "unknownProcess" } as const;
      return { status: await process.write(bytes, params.writeId) };
    })
    .register(ProcessSignal, (params, { session }) => {
      session.processes.get(params.processId)?.signal(params.signal);
      return {};
    })
    .register(ProcessTerminate, (params, { session }) => {
      const process = session.processes.get(params.processId);
      return { running: process ? process.terminate() : false };
    })
    .register(ProcessResize, (params, { session }) => {
      const process = requireProcess(session.processes, params.processId);
      session.processes.resize(process, params.rows, params.cols);
      return {};
    })
    .register(ProcessAck, (params, { session }) => {
      requireProcess(session.processes, params.processId).acknowledge(params.seq);
      return {};
    })
    .register(ProcessCloseStdin, async (params, { session }) => {
      const process = session.processes.get(params.processId);
      if (!process) return { status: "unknownProcess" } as const;
      return { status: await process.closeStdin() };
    });
}
