/**
 * Logging to stderr (stdout belongs to the protocol in stdio mode). Every line carries a timestamp and
 * its level; `text` lines read `TS LEVEL exec-server: message key=value ...`, `json` lines are one
 * object each (`ts`, `level`, `msg`, then the fields). Never log tokens or env values.
 *
 * @module
 */

/** Severity levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** How lines are written. */
export type LogFormat = "text" | "json";

/** Structured fields of a line (JSON-serialisable values). */
export type LogFields = Readonly<Record<string, unknown>>;

/** Every level name, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Environment variable naming the level when `--log-level` is not given. */
export const LOG_LEVEL_ENV = "EXEC_SERVER_LOG";
/** Environment variable naming the format when `--log-format` is not given. */
export const LOG_FORMAT_ENV = "EXEC_SERVER_LOG_FORMAT";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

let threshold: LogLevel = "warn";
let format: LogFormat = "text";

/** Sets the minimum level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Sets the line format. */
export function setLogFormat(next: LogFormat): void {
  format = next;
}

/** Whether a line at `level` would be written. */
export function logEnabled(level: LogLevel): boolean {
  return ORDER[level] >= ORDER[threshold] && threshold !== "silent";
}

/** A text-format value: bare when it is a plain word, else JSON (so a line never splits or misleads). */
function textValue(value: unknown): string {
  if (typeof value === "string" && /^[\w./:@+,-]+$/.test(value)) return value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return JSON.stringify(value) ?? "undefined";
}

/** One line in the current format (exported for tests of the format itself). */
export function formatLine(level: Exclude<LogLevel, "silent">, message: string, fields?: LogFields): string {
  const ts = new Date().toISOString();
  if (format === "json") {
    // The three fixed members come first, and fields never override them.
    const fixed = { ts, level, msg: message };
    return JSON.stringify(Object.assign({ ...fixed }, fields, fixed));
  }
  let line = `${ts} ${level} exec-server: ${message.replace(/\r?\n/g, "\\n")}`;
  if (fields) {
    for (const key in fields) {
      if (fields[key] !== undefined) line += ` ${key}=${textValue(fields[key])}`;
    }
  }
  return line;
}

function write(
  level: Exclude<LogLevel, "silent">,
  message: string,
  fields?: LogFields,
  always = false,
): void {
  if (always ? threshold === "silent" : !logEnabled(level)) return;
  console.error(formatLine(level, message, fields));
}

/** The process-wide logger. */
export const log = {
  debug: (message: string, fields?: LogFields) => write("debug", message, fields),
  info: (message: string, fields?: LogFields) => write("info", message, fields),
  warn: (message: string, fields?: LogFields) => write("warn", message, fields),
  error: (message: string, fields?: LogFields) => write("error", message, fields),
  /** A line written at every level but `silent` (the startup line, the unauthenticated-listener warning). */
  announce: (message: string, fields?: LogFields, level: "info" | "warn" = "info") =>
    write(level, message, fields, true),
};
