/**
 * The log level and format of a command: `--log-level`/`--log-format`, else `EXEC_SERVER_LOG` /
 * `EXEC_SERVER_LOG_FORMAT`, else `warn` and `text`.
 *
 * @module
 */
import { LOG_FORMAT_ENV, LOG_LEVEL_ENV, LOG_LEVELS, type LogFormat, type LogLevel } from "../util/log.ts";
import { UsageError } from "./usage_error.ts";

/** Level and format from the flags, else from the environment, else warn and text. */
export function logSettings(
  levelFlag: string | undefined,
  formatFlag: string | undefined,
  usage: string,
): { level: LogLevel; format: LogFormat } {
  const pick = (flag: string | undefined, env: string, allowed: readonly string[], fallback: string) => {
    const fromEnv = flag === undefined ? Deno.env.get(env) : undefined;
    const value = flag ?? (fromEnv === "" ? undefined : fromEnv) ?? fallback;
    if (!allowed.includes(value)) {
      const what = flag !== undefined ? `--${env === LOG_LEVEL_ENV ? "log-level" : "log-format"}` : env;
      const names = allowed.slice(0, -1).join(", ") + " or " + allowed[allowed.length - 1];
      throw new UsageError(`${what} expects ${names}, got \`${value}\``, usage);
    }
    return value;
  };
  return {
    level: pick(levelFlag, LOG_LEVEL_ENV, LOG_LEVELS, "warn") as LogLevel,
    format: pick(formatFlag, LOG_FORMAT_ENV, ["text", "json"], "text") as LogFormat,
  };
}
