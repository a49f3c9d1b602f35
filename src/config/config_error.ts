/**
 * The one error type for configuration files (`environments.toml` and friends).
 *
 * @module
 */

/** Which stage of loading a configuration failed. */
export type ConfigErrorKind =
  /** The existence check of the default config path failed (not "absent": a real I/O error). */
  | "inspect"
  /** The file exists (or was named explicitly) but could not be read. */
  | "read"
  /** The file is not valid TOML. */
  | "syntax"
  /** Valid TOML of the wrong shape: unknown key, wrong value type, missing key, bad duration. */
  | "shape"
  /** Right shape, but a semantic rule failed (id rules, url/program rules, default, duplicates). */
  | "validation";

/** Structured details of a {@link ConfigError}, for callers that want more than the message. */
export interface ConfigErrorDetails {
  /** Which stage failed. */
  kind: ConfigErrorKind;
  /** The config file, when there is one. */
  path?: string;
  /**
   * The bare reason: for Codex-compatible rules this is exactly Codex 0.140.0's message text (without its
   * `exec-server protocol error: ` prefix), so it can be compared verbatim.
   */
  reason: string;
  /** 1-based line of the offending key or entry, when it could be located in the source text. */
  line?: number;
  /** 0-based index into `[[environments]]`, when the error belongs to one entry. */
  entryIndex?: number;
  /** The entry's `id`, when the entry has a string id. */
  entryId?: string;
  /** The key(s) at fault, e.g. `["args"]`, or `["url", "program"]` for "exactly one of". */
  keys?: string[];
}

/** A configuration file could not be inspected, read, parsed or validated. The message is user-facing. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Which stage failed. */
  readonly kind: ConfigErrorKind;
  /** The config file, when there is one. */
  readonly path?: string;
  /** The bare reason (Codex's verbatim text for Codex rules). */
  readonly reason: string;
  /** 1-based line of the offending key or entry, when known. */
  readonly line?: number;
  /** 0-based `[[environments]]` index, when the error belongs to one entry. */
  readonly entryIndex?: number;
  /** The entry's id, when known. */
  readonly entryId?: string;
  /** The key(s) at fault, when known. */
  readonly keys?: readonly string[];

  constructor(message: string, details: ConfigErrorDetails, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.kind = details.kind;
    this.reason = details.reason;
    // Only set what is known, so deepEqual on errors and JSON dumps stay tidy.
    if (details.path !== undefined) this.path = details.path;
    if (details.line !== undefined) this.line = details.line;
    if (details.entryIndex !== undefined) this.entryIndex = details.entryIndex;
    if (details.entryId !== undefined) this.entryId = details.entryId;
    if (details.keys !== undefined) this.keys = [...details.keys];
  }
}
