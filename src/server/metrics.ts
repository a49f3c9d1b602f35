/**
 * The server's metrics in the Prometheus text exposition format (0.0.4), served on `GET /metrics`.
 * Counters are plain numbers bumped where things happen: requests in the connection's one dispatch path
 * (a map lookup and a few additions, nothing allocated), processes from the audit events, output bytes by
 * the process reader. Gauges (connections, sessions) are read from the server when scraped.
 *
 * @module
 */
import type { AuditEvents } from "./audit.ts";

/** Upper bounds (seconds) of the request latency histogram's buckets (`+Inf` is implied). */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** The content type of the exposition. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `method` label for requests naming no registered method (keeps the label set bounded). */
const UNKNOWN_METHOD = "unknown";

class MethodStats {
  ok = 0;
  error = 0;
  sum = 0;
  /** Per bucket (not cumulative), the last one for `+Inf`. */
  readonly buckets = new Float64Array(REQUEST_DURATION_BUCKETS.length + 1);
}

/** What the gauges are read from. */
export interface MetricsGauges {
  readonly connectionCount: number;
  readonly sessionCount: number;
}

/** The counters of one server. */
export class ServerMetrics {
  processesStarted = 0;
  processesExited = 0;
  /** Decoded bytes of process output, bumped by every process's reader. */
  readonly output = { bytes: 0 };
  readonly #methods = new Map<string, MethodStats>();
  readonly #unknown = new MethodStats();

  constructor(audit: AuditEvents) {
    audit.subscribe((event) => {
      if (event.type === "process.start") this.processesStarted++;
      else if (event.type === "process.exit") this.processesExited++;
    });
  }

  /** One answered request: `method` null when no such method is registered. */
  recordRequest(method: string | null, ok: boolean, seconds: number): void {
    let stats = method === null ? this.#unknown : this.#methods.get(method);
    if (stats === undefined) {
      // Once per registered method: the table bounds the label set.
      stats = new MethodStats();
      this.#methods.set(method!, stats);
    }
    if (ok) stats.ok++;
    else stats.error++;
    stats.sum += seconds;
    let i = 0;
    while (i < REQUEST_DURATION_BUCKETS.length && seconds > REQUEST_DURATION_BUCKETS[i]) i++;
    stats.buckets[i]++;
  }

  /** The exposition text. */
  render(gauges: MetricsGauges): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    metric("exec_server_connections", "gauge", "Open client connections.");
    lines.push(`exec_server_connections ${gauges.connectionCount}`);
    metric("exec_server_sessions", "gauge", "Live sessions, attached or detached.");
    lines.push(`exec_server_sessions ${gauges.sessionCount}`);
    metric("exec_server_processes_running", "gauge", "Started processes that have not exited.");
    lines.push(`exec_server_processes_running ${this.processesStarted - this.processesExited}`);
    metric("exec_server_processes_started_total", "counter", "Processes started.");
    lines.push(`exec_server_processes_started_total ${this.processesStarted}`);
    metric(
      "exec_server_output_bytes_total",
      "counter",
      "Bytes of process output read (stdout, stderr, pty).",
    );
    lines.push(`exec_server_output_bytes_total ${this.output.bytes}`);
    const methods = [...this.#methods.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (this.#unknown.ok + this.#unknown.error > 0) methods.push([UNKNOWN_METHOD, this.#unknown]);
    metric("exec_server_requests_total", "counter", "JSON-RPC requests answered, by method and outcome.");
    for (const [name, stats] of methods) {
      const method = labelValue(name);
      lines.push(`exec_server_requests_total{method="${method}",outcome="ok"} ${stats.ok}`);
      lines.push(`exec_server_requests_total{method="${method}",outcome="error"} ${stats.error}`);
    }
    metric(
      "exec_server_request_duration_seconds",
      "histogram",
      "Time from a request's arrival to its answer (long-polls included), by method.",
    );
    for (const [name, stats] of methods) {
      const method = labelValue(name);
      let cumulative = 0;
      REQUEST_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += stats.buckets[i];
        lines.push(
          `exec_server_request_duration_seconds_bucket{method="${method}",le="${le}"} ${cumulative}`,
        );
      });
      cumulative += stats.buckets[REQUEST_DURATION_BUCKETS.length];
      lines.push(`exec_server_request_duration_seconds_bucket{method="${method}",le="+Inf"} ${cumulative}`);
      lines.push(`exec_server_request_duration_seconds_sum{method="${method}"} ${stats.sum}`);
      lines.push(`exec_server_request_duration_seconds_count{method="${method}"} ${cumulative}`);
    }
    return lines.join("\n") + "\n";
  }
}

/** A label value escaped as the exposition format requires. */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
