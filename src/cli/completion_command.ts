/**
 * `exec-server completion bash|zsh`: a shell completion script for the commands and their options. The
 * options are read from each command's usage text, so the completions cannot drift from `--help`.
 *
 * @module
 */
import { CP_USAGE } from "./cp_command.ts";
import { KILL_USAGE, LOGS_USAGE, PS_USAGE } from "./admin_commands.ts";
import { ENVS_USAGE } from "./envs_command.ts";
import { FORWARD_USAGE } from "./forward_command.ts";
import { RUN_USAGE } from "./run_command.ts";
import { SERVE_USAGE } from "./serve_command.ts";
import { UsageError } from "./usage_error.ts";

/** `exec-server completion --help`. */
export const COMPLETION_USAGE = `usage: exec-server completion bash|zsh

Prints a completion script for the shell. Load it with
  bash:  source <(exec-server completion bash)      (e.g. in ~/.bashrc)
  zsh:   source <(exec-server completion zsh)       (e.g. in ~/.zshrc, after compinit)

  -h, --help   show this help`;

/** The commands, as completed in the first position. */
export const COMMANDS = [
  "serve",
  "run",
  "envs",
  "cp",
  "ps",
  "logs",
  "kill",
  "forward",
  "version",
  "completion",
  "help",
] as const;

/** Every option a usage text lists (`--name` and `-x`, from lines indented by exactly two spaces). */
export function usageOptions(usage: string): string[] {
  const options: string[] = [];
  for (const line of usage.split("\n")) {
    if (!/^ {2}-/.test(line)) continue;
    const head = line.slice(2).split(/ {2,}/)[0];
    for (const match of head.matchAll(/(?:^|[ ,])(--?[A-Za-z][\w-]*)/g)) options.push(match[1]);
  }
  return [...new Set(options)];
}

/** The options of a usage text that take a value (an upper-case word follows them). */
export function valueOptions(usage: string): string[] {
  const options: string[] = [];
  for (const line of usage.split("\n")) {
    if (!/^ {2}-/.test(line)) continue;
    const head = line.slice(2).split(/ {2,}/)[0];
    const match = /^(-{1,2}[\w-]+) [A-Z]/.exec(head);
    if (match) options.push(match[1]);
  }
  return options;
}

/** Every value-taking option of every command: the word after one is its value, not a command. */
function allValueOptions(): string[] {
  return [
    ...new Set(
      [SERVE_USAGE, RUN_USAGE, ENVS_USAGE, CP_USAGE, PS_USAGE, LOGS_USAGE, KILL_USAGE, FORWARD_USAGE].flatMap(
        valueOptions,
      ),
    ),
  ];
}

function commandOptions(): Record<string, string[]> {
  return {
    serve: usageOptions(SERVE_USAGE),
    run: usageOptions(RUN_USAGE),
    envs: usageOptions(ENVS_USAGE),
    cp: usageOptions(CP_USAGE),
    ps: usageOptions(PS_USAGE),
    logs: usageOptions(LOGS_USAGE),
    kill: usageOptions(KILL_USAGE),
    forward: usageOptions(FORWARD_USAGE),
    version: [],
    completion: ["bash", "zsh", "-h", "--help"],
    help: [],
  };
}

/** The bash script: `complete -F _exec_server exec-server`, files where no option or command fits. */
export function bashCompletion(): string {
  const options = commandOptions();
  const cases = Object.entries(options).map(([command, list]) =>
    `    ${command}) words="${list.join(" ")}" ;;`
  );
  return `# bash completion for exec-server (exec-server completion bash)
_exec_server() {
  local cur command words i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  command=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${allValueOptions().join("|")}) ((i++)) ;;
      -*) ;;
      *) command="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$command" ]]; then
    COMPREPLY=($(compgen -W "${COMMANDS.join(" ")} ${options.serve.join(" ")}" -- "$cur"))
    return
  fi
  case "$command" in
${cases.join("\n")}
    *) words="" ;;
  esac
  if [[ "$command" == completion || "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _exec_server exec-server
`;
}

/** The zsh script: works from `source <(...)` after `compinit`, or as `_exec_server` in `$fpath`. */
export function zshCompletion(): string {
  const options = commandOptions();
  const cases = Object.entries(options).map(([command, list]) =>
    `    ${command}) opts=(${list.join(" ")}) ;;`
  );
  return `#compdef exec-server
# zsh completion for exec-server (exec-server completion zsh)
_exec_server() {
  local -a opts
  local command="" i
  for ((i = 2; i < CURRENT; i++)); do
    case "\${words[i]}" in
      ${allValueOptions().join("|")}) ((i++)) ;;
      -*) ;;
      *) command="\${words[i]}"; break ;;
    esac
  done
  if [[ -z "$command" ]]; then
    compadd -- ${COMMANDS.join(" ")} ${options.serve.join(" ")}
    return
  fi
  case "$command" in
${cases.join("\n")}
    *) opts=() ;;
  esac
  if [[ "$command" == completion || "$PREFIX" == -* ]]; then
    compadd -- $opts
  else
    _files
  fi
}
if (( $+functions[compdef] )); then
  compdef _exec_server exec-server
fi
`;
}

/** Runs the `completion` command; returns the exit status. */
export function runCompletionCommand(args: string[]): number {
  const [shell, ...rest] = args;
  if (shell === "-h" || shell === "--help") {
    console.log(COMPLETION_USAGE);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument \`${rest[0]}\``, COMPLETION_USAGE);
  if (shell === "bash") console.log(bashCompletion().trimEnd());
  else if (shell === "zsh") console.log(zshCompletion().trimEnd());
  else {
    throw new UsageError(
      shell === undefined ? "expected bash or zsh" : `unknown shell \`${shell}\``,
      COMPLETION_USAGE,
    );
  }
  return 0;
}
