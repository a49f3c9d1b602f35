/**
 * `exec-server ps`, `logs` and `kill`: the operator's view of what runs on a server, through its admin
 * surface (`/admin/...`, see `server/admin_http.ts`).
 *
 * @module
 */
import { parseArgs } from "./parse_args.ts";
import type { AdminProcess, AdminSession } from "../protocol/admin.ts";
import {
  ADMIN_TARGET_OPTIONS,
  ADMIN_TARGET_USAGE,
  AdminClient,
  AdminConnectionError,
  type AdminTargetOptions,
  findProcess,
  findSession,
} from "./admin_client.ts";
import { EXIT_CONNECTION, EXIT_FAILURE, EXIT_USAGE, writeAll } from "./cli_target.ts";
import { UsageError } from "./usage_error.ts";

const EXIT_STATUS = `exit status:
  0      done
  1      refused (a missing or wrong admin token), no such process or session, or another failure
  2      usage error
  255    the exec-server could not be reached`;

/** `exec-server ps --help`. */
export const PS_USAGE = `usage: exec-server ps [options]

Lists the sessions on an exec-server (client, peer, attached or detached, age) and their processes
(id, pid, state, exit code, age, output bytes, tty, sandboxed, cwd, command).

${ADMIN_TARGET_USAGE}
  --json          print the server's JSON answer instead
  -h, --help      show this help

${EXIT_STATUS}`;

/** `exec-server logs --help`. */
export const LOGS_USAGE = `usage: exec-server logs [options] PROCESS_ID

Prints what a process wrote that the server still retains (stdout to stdout, stderr to stderr), found
by its id across sessions; with -f, keeps printing new output until the process closes.

${ADMIN_TARGET_USAGE}
  --session ID    the session of the process (needed when the id exists in several; a prefix will do)
  -f, --follow    follow the output live
  -h, --help      show this help

${EXIT_STATUS}`;

/** `exec-server kill --help`. */
export const KILL_USAGE = `usage: exec-server kill [options] PROCESS_ID
       exec-server kill [options] --session ID

Terminates a process tree (SIGTERM, then SIGKILL after the server's grace), found by its id across
sessions; or, with --session and no PROCESS_ID, the whole session: its connection is closed and every
process of it terminated.

${ADMIN_TARGET_USAGE}
  --session ID    the session (of PROCESS_ID, or to end; a prefix will do)
  -h, --help      show this help

${EXIT_STATUS}`;

/** Long-poll time of one `logs -f` request. */
const FOLLOW_WAIT_MS = 25_000;

type Values = Record<string, string | boolean | undefined>;

function parse(
  args: string[],
  usage: string,
  extra: Record<string, { type: "string" | "boolean"; short?: string }>,
) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...ADMIN_TARGET_OPTIONS, ...extra, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
  const values = parsed.values as Values;
  if (values.url !== undefined && values.env !== undefined) {
    throw new UsageError("--url and --env are mutually exclusive", usage);
  }
  const target: AdminTargetOptions = {
    envId: values.env as string | undefined,
    configPath: values.config as string | undefined,
    url: values.url as string | undefined,
    adminTokenFile: values["admin-token-file"] as string | undefined,
    caFile: values["ca-file"] as string | undefined,
  };
  return { values, positionals: parsed.positionals, target };
}

async function run(
  command: string,
  usage: string,
  args: string[],
  extra: Record<string, { type: "string" | "boolean"; short?: string }>,
  body: (client: AdminClient, values: Values, positionals: string[]) => Promise<number>,
): Promise<number> {
  let client: AdminClient | null = null;
  try {
    const { values, positionals, target } = parse(args, usage, extra);
    if (values.help) {
      console.log(usage);
      return 0;
    }
    client = await AdminClient.open(target, usage);
    return await body(client, values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`exec-server ${command}: ${error.message}\n\n${error.usage}`);
      return EXIT_USAGE;
    }
    console.error(`exec-server ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof AdminConnectionError ? EXIT_CONNECTION : EXIT_FAILURE;
  } finally {
    client?.close();
  }
}

/** `exec-server ps`. */
export function runPsCommand(args: string[]): Promise<number> {
  return run("ps", PS_USAGE, args, { json: { type: "boolean" } }, async (client, values, positionals) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument \`${positionals[0]}\``, PS_USAGE);
    const sessions = await client.sessions();
    if (values.json) console.log(JSON.stringify({ sessions }, null, 2));
    else console.log(formatSessions(sessions, Date.now()));
    return 0;
  });
}

/** The `ps` table: one line per session, its processes indented under it. */
export function formatSessions(sessions: AdminSession[], now: number): string {
  if (sessions.length === 0) return "no sessions";
  const blocks = sessions.map((session) => {
    const head =
      `session ${session.sessionId}  client ${session.clientName ?? "-"}  peer ${session.peer ?? "-"}  ` +
      `${session.attached ? "attached" : "detached"}  age ${duration(session.ageMs)}`;
    if (session.processes.length === 0) return `${head}\n  (no processes)`;
    const rows = [
      ["PROCESS", "PID", "STATE", "EXIT", "AGE", "OUT", "TTY", "SANDBOX", "CWD", "COMMAND"],
      ...session.processes.map((p) => processRow(p, now)),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    const lines = rows.map((row) =>
      "  " + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")
    );
    return [head, ...lines].join("\n");
  });
  return blocks.join("\n\n");
}

function processRow(p: AdminProcess, now: number): string[] {
  return [
    p.processId,
    String(p.pid),
    p.state,
    p.exitCode === null ? "-" : String(p.exitCode),
    duration((p.endedAt ?? now) - p.startedAt),
    bytes(p.outputBytes),
    p.tty ? "yes" : "no",
    p.sandboxed ? "yes" : "no",
    p.cwd,
    p.argv.map(quote).join(" "),
  ];
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, "0")}h`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}

function onePositional(positionals: string[], usage: string, what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`, usage);
  if (positionals.length > 1) throw new UsageError(`unexpected argument \`${positionals[1]}\``, usage);
  return positionals[0];
}

/** `exec-server logs`. */
export function runLogsCommand(args: string[]): Promise<number> {
  const extra = { session: { type: "string" }, follow: { type: "boolean", short: "f" } } as const;
  return run("logs", LOGS_USAGE, args, extra, async (client, values, positionals) => {
    const processId = onePositional(positionals, LOGS_USAGE, "PROCESS_ID");
    const { session } = findProcess(await client.sessions(), processId, values.session as string | undefined);
    const follow = values.follow === true;
    let afterSeq = 0;
    let droppedReported = false;
    for (;;) {
      const page = await client.output(session.sessionId, processId, afterSeq, follow ? FOLLOW_WAIT_MS : 0);
      if (page === null) {
        // Evicted (its retention ran out) or its session ended while following.
        if (follow) return 0;
        throw new Error(`no process ${processId} in session ${session.sessionId}`);
      }
      if (page.droppedBytes > 0 && !droppedReported) {
        droppedReported = true;
        console.error(`exec-server logs: ${page.droppedBytes} earlier bytes are no longer retained`);
      }
      for (const chunk of page.chunks) {
        const out = chunk.stream === "stderr" ? Deno.stderr : Deno.stdout;
        await writeAll(out, Uint8Array.fromBase64(chunk.chunk));
      }
      afterSeq = page.afterSeq;
      if (page.more) continue;
      if (!follow || page.closed) return 0;
    }
  });
}

/** `exec-server kill`. */
export function runKillCommand(args: string[]): Promise<number> {
  return run(
    "kill",
    KILL_USAGE,
    args,
    { session: { type: "string" } },
    async (client, values, positionals) => {
      const sessionArg = values.session as string | undefined;
      if (positionals.length > 1) {
        throw new UsageError(
          `unexpected argument \`${positionals[1]}\``,
          KILL_USAGE,
        );
      }
      const sessions = await client.sessions();
      if (positionals.length === 0) {
        if (sessionArg === undefined) throw new UsageError("missing PROCESS_ID or --session ID", KILL_USAGE);
        const session = findSession(sessions, sessionArg);
        const result = await client.terminateSession(session.sessionId);
        console.log(`terminated session ${session.sessionId} (${result.running} running processes)`);
        return 0;
      }
      const { session, process } = findProcess(sessions, positionals[0], sessionArg);
      const result = await client.terminateProcess(session.sessionId, process.processId);
      console.log(
        result.running > 0
          ? `terminated process ${process.processId} (session ${session.sessionId})`
          : `process ${process.processId} had already exited; ended what it left behind (session ${session.sessionId})`,
      );
      return 0;
    },
  );
}
