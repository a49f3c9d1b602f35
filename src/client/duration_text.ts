/** Durations printed the way Rust's `Debug` prints them (`10s`, `1.5s`, `250ms`), as in Codex's messages. @module */

/** Formats `ms` milliseconds like Rust's `Duration` `Debug` output. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0ns";
  if (ms >= 1000) return `${trim(ms / 1000)}s`;
  if (ms >= 1) return `${trim(ms)}ms`;
  return `${trim(ms * 1000)}µs`;
}

function trim(value: number): string {
  // Rust prints up to nanosecond precision without trailing zeros.
  return String(Number(value.toFixed(9)));
}
