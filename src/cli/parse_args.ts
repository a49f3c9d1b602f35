/**
 * A strict command-line parser with `node:util`'s `parseArgs` behaviour and error messages, for the
 * subset the commands use (`string`/`boolean` options, `short`, `multiple`, positionals, `--`).
 *
 * It exists so that starting the server does not load `node:util` (with it, Deno's Node compatibility
 * layer: ~7 ms of cold start); `tests/cli_parse_args_test.ts` compares it with `parseArgs` itself.
 *
 * @module
 */

/** One option's declaration, as for `parseArgs`. */
export interface ArgOption {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
}

/** The declared options, keyed by long name. */
export type ArgOptions = Readonly<Record<string, ArgOption>>;

type OptionValue<O extends ArgOption> = O["type"] extends "string" ? string : boolean;

/** Parsed values: each present option's value (an array for `multiple`). */
export type ArgValues<T extends ArgOptions> = {
  -readonly [K in keyof T]?: T[K]["multiple"] extends true ? OptionValue<T[K]>[] : OptionValue<T[K]>;
};

/** Thrown for a command-line mistake; `code` and `message` are those `parseArgs` uses. */
export class ArgsError extends TypeError {
  override name = "TypeError";
  constructor(
    readonly code:
      | "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      | "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
      | "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
    message: string,
  ) {
    super(message);
  }
}

interface OptionToken {
  kind: "option";
  name: string;
  rawName: string;
  value: string | undefined;
  inlineValue: boolean | undefined;
}
type Token = OptionToken | { kind: "positional"; value: string };

function own<T extends ArgOptions>(options: T, name: string): ArgOption | undefined {
  return Object.hasOwn(options, name) ? options[name] : undefined;
}

function longForShort(options: ArgOptions, short: string): string {
  for (const [name, option] of Object.entries(options)) if (option.short === short) return name;
  return short;
}

function isStringOption(options: ArgOptions, name: string): boolean {
  return own(options, name)?.type === "string";
}

/**
 * `parseArgs`'s tokenizer: short groups expanded, `-fVALUE`, `--name=value`, everything after `--`. With
 * `stopAtPositional`, the first positional ends the options, as for `ssh host cmd -l`: it and everything
 * after it are positionals, untouched.
 */
function tokenize(args: readonly string[], options: ArgOptions, stopAtPositional = false): Token[] {
  const tokens: Token[] = [];
  const remaining = [...args];
  while (remaining.length > 0) {
    const arg = remaining.shift()!;
    const next = remaining[0];
    if (arg === "--") {
      for (const value of remaining) tokens.push({ kind: "positional", value });
      break;
    }
    const shortLike = arg.length >= 2 && arg[0] === "-" && arg[1] !== "-";
    if (shortLike && arg.length === 2) {
      const name = longForShort(options, arg[1]);
      const value = isStringOption(options, name) && next !== undefined ? remaining.shift() : undefined;
      tokens.push({
        kind: "option",
        name,
        rawName: arg,
        value,
        inlineValue: value === undefined ? undefined : false,
      });
      continue;
    }
    if (shortLike && !isStringOption(options, longForShort(options, arg[1]))) {
      // A group: -abc is -a -b -c; a string option inside takes the rest as its value.
      const expanded: string[] = [];
      for (let i = 1; i < arg.length; i++) {
        const short = arg[i];
        if (!isStringOption(options, longForShort(options, short)) || i === arg.length - 1) {
          expanded.push(`-${short}`);
        } else {
          expanded.push(`-${short}${arg.slice(i + 1)}`);
          break;
        }
      }
      remaining.unshift(...expanded);
      continue;
    }
    if (shortLike) {
      const name = longForShort(options, arg[1]);
      tokens.push({ kind: "option", name, rawName: `-${arg[1]}`, value: arg.slice(2), inlineValue: true });
      continue;
    }
    if (arg.length > 2 && arg.startsWith("--")) {
      const equals = arg.indexOf("=", 3);
      if (equals === -1) {
        const name = arg.slice(2);
        const value = isStringOption(options, name) && next !== undefined ? remaining.shift() : undefined;
        tokens.push({
          kind: "option",
          name,
          rawName: arg,
          value,
          inlineValue: value === undefined ? undefined : false,
        });
      } else {
        const name = arg.slice(2, equals);
        tokens.push({
          kind: "option",
          name,
          rawName: `--${name}`,
          value: arg.slice(equals + 1),
          inlineValue: true,
        });
      }
      continue;
    }
    tokens.push({ kind: "positional", value: arg });
    if (stopAtPositional) {
      for (const value of remaining) tokens.push({ kind: "positional", value });
      break;
    }
  }
  return tokens;
}

function checkOption(options: ArgOptions, token: OptionToken, allowPositionals: boolean): void {
  const option = own(options, token.name);
  if (option === undefined) {
    const hint = allowPositionals
      ? `. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${
        JSON.stringify(token.rawName)
      }`
      : "";
    throw new ArgsError("ERR_PARSE_ARGS_UNKNOWN_OPTION", `Unknown option '${token.rawName}'${hint}`);
  }
  const shortAndLong = `${option.short ? `-${option.short}, ` : ""}--${token.name}`;
  if (option.type === "string" && typeof token.value !== "string") {
    throw new ArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${shortAndLong} <value>' argument missing`,
    );
  }
  if (option.type === "boolean" && token.value !== undefined) {
    throw new ArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${shortAndLong}' does not take an argument`,
    );
  }
  if (!token.inlineValue && token.value !== undefined && token.value.length > 1 && token.value[0] === "-") {
    const example = token.rawName.startsWith("--")
      ? `'${token.rawName}=-XYZ'`
      : `'--${token.name}=-XYZ' or '${token.rawName}-XYZ'`;
    throw new ArgsError(
      "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      `Option '${token.rawName}' argument is ambiguous.\nDid you forget to specify the option argument for '${token.rawName}'?\nTo specify an option argument starting with a dash use ${example}.`,
    );
  }
}

/**
 * Parses `args` strictly, like `parseArgs({ args, options, strict: true, allowPositionals })`;
 * `stopAtPositional` (ours) ends the options at the first positional.
 */
export function parseArgs<T extends ArgOptions>(
  config: {
    args: readonly string[];
    options: T;
    strict?: true;
    allowPositionals?: boolean;
    stopAtPositional?: boolean;
  },
): { values: ArgValues<T>; positionals: string[] } {
  const allowPositionals = config.allowPositionals ?? false;
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  for (const token of tokenize(config.args, config.options, config.stopAtPositional)) {
    if (token.kind === "positional") {
      if (!allowPositionals) {
        throw new ArgsError(
          "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
          `Unexpected argument '${token.value}'. This command does not take positional arguments`,
        );
      }
      positionals.push(token.value);
      continue;
    }
    checkOption(config.options, token, allowPositionals);
    if (token.name === "__proto__") continue;
    const value = token.value ?? true;
    if (config.options[token.name].multiple) ((values[token.name] ??= []) as unknown[]).push(value);
    else values[token.name] = value;
  }
  return { values: values as ArgValues<T>, positionals };
}
