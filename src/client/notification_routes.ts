/**
 * Where a client's server notifications go: each `process/*` event to its {@link ProcessHandle}, each
 * `http/request/bodyDelta` to its {@link HttpBodyStream}; malformed or unrouted ones are dropped (logged at
 * debug level), as Codex does.
 *
 * @module
 */
import { HttpBodyDelta, ProcessClosed, ProcessExited, ProcessOutput } from "../protocol/methods.ts";
import { decodeBase64 } from "../util/base64.ts";
import { log } from "../util/log.ts";
import { ExecServerClientError } from "./client_error.ts";
import type { HttpBodyStream } from "./http_body_stream.ts";
import type { ProcessHandle } from "./process_handle.ts";

/** The live process handles and HTTP body streams of one client, by wire id. */
export class NotificationRoutes {
  /** By `processId`; registered before `process/start` is sent (events can overtake its response). */
  readonly processes = new Map<string, ProcessHandle>();
  /** By `requestId`; registered before `http/request` is sent (frames follow the response closely). */
  readonly httpStreams = new Map<string, HttpBodyStream>();

  /** Hands one notification to its route. */
  route(method: string, params: unknown): void {
    switch (method) {
      case ProcessOutput.method: {
        const parsed = ProcessOutput.params.safeParse(params);
        if (!parsed.success) return ignore(method);
        let chunk: Uint8Array;
        try {
          chunk = decodeBase64(parsed.data.chunk);
        } catch {
          return ignore(method);
        }
        const { processId, seq, stream } = parsed.data;
        this.processes.get(processId)?.accept({ type: "output", seq, stream, chunk });
        return;
      }
      case ProcessExited.method: {
        const parsed = ProcessExited.params.safeParse(params);
        if (!parsed.success) return ignore(method);
        const { processId, seq, exitCode } = parsed.data;
        this.processes.get(processId)?.accept({ type: "exited", seq, exitCode });
        return;
      }
      case ProcessClosed.method: {
        const parsed = ProcessClosed.params.safeParse(params);
        if (!parsed.success) return ignore(method);
        this.processes.get(parsed.data.processId)?.accept({ type: "closed", seq: parsed.data.seq });
        return;
      }
      case HttpBodyDelta.method: {
        const parsed = HttpBodyDelta.params.safeParse(params);
        if (!parsed.success) return ignore(method);
        this.httpStreams.get(parsed.data.requestId)?.accept(parsed.data);
        return;
      }
      default:
        log.debug(`exec-server client: ignoring unknown notification ${method}`);
    }
  }

  /** The transport went away: body streams cannot survive that (processes may, through a resume). */
  failStreams(error: ExecServerClientError): void {
    for (const stream of [...this.httpStreams.values()]) stream.fail(error);
  }

  /** The session is over for good: every process handle publishes `failed`, every body stream errors. */
  failAll(error: ExecServerClientError): void {
    const message = error.kind === "closed" ? error.message : ExecServerClientError.disconnected().message;
    for (const handle of [...this.processes.values()]) handle.fail(message);
    this.failStreams(error);
  }

  /**
   * After a resume: every live process handle catches up with `process/read` (the server drops
   * notifications while detached). Not awaited: the reads queue behind the resume itself.
   */
  catchUp(): void {
    for (const handle of this.processes.values()) handle.catchUp();
  }
}

function ignore(method: string): void {
  log.debug(`exec-server client: ignoring malformed ${method} notification`);
}
