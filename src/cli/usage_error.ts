/** A command-line mistake: printed as one line plus usage, exit status 2. @module */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

/** Parses a non-negative number option, or throws a {@link UsageError}. */
export function parseNumberOption(
  name: string,
  value: string | undefined,
  usage: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} expects a non-negative number, got \`${value}\``, usage);
  }
  return n;
}
