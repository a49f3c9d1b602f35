/**
 * Chooses how a `process/start` runs: pipes (`tty:false`) or a pseudo-terminal (`tty:true`), with the
 * reference's per-mode semantics for program lookup, `arg0` and `SHELL`.
 *
 * @module
 */
import { loginShell } from "../environment/login_shell.ts";
import type { SpawnedChild } from "./child.ts";
import { treeContainment } from "./containment.ts";
import { groupKeeper } from "./group_keeper.ts";
import { spawnWithPipes } from "./pipe_spawn.ts";
import { withSpawnKind } from "./spawn_error.ts";
import { spawnPty } from "./pty.ts";
import { resolveTtyProgram } from "./tty_program.ts";

/** A start request after cwd and environment were resolved. */
export interface ChildSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  tty: boolean;
  pipeStdin?: boolean;
  arg0?: string | null;
  rows?: number | null;
  cols?: number | null;
  /** Prefix to run the command under (a bubblewrap sandbox), or none. */
  wrapper?: string[];
}

/** Default PTY size, as the reference. */
export const DEFAULT_PTY_ROWS = 24;
export const DEFAULT_PTY_COLS = 80;

/**
 * Spawns the child for a start request, in a cgroup of its own where the host allows (so that no
 * descendant can escape termination), else as the leader of a process group the group keeper ends if this
 * process dies; throws `RpcError(-32603)` with the reference's messages.
 */
export function spawnChild(spec: ChildSpec): SpawnedChild {
  try {
    return spawnContained(spec);
  } catch (error) {
    throw withSpawnKind(error);
  }
}

function spawnContained(spec: ChildSpec): SpawnedChild {
  const containment = treeContainment();
  if (!containment) {
    const child = spawnUncontained(spec);
    const unwatchGroup = groupKeeper()?.watch(child.pid);
    return unwatchGroup ? { ...child, unwatchGroup } : child;
  }
  const { value, tree } = containment.spawnInside(() => spawnUncontained(spec));
  return tree ? { ...value, tree } : value;
}

function spawnUncontained(spec: ChildSpec): SpawnedChild {
  const wrapper = spec.wrapper ?? [];
  if (!spec.tty) {
    // Pipe mode: argv[0] is executed; arg0 only changes what the child sees as $0.
    const [program, ...args] = [...wrapper, ...spec.argv];
    const arg0 = wrapper.length === 0 && spec.arg0 != null ? spec.arg0 : undefined;
    return spawnWithPipes({
      program,
      args,
      arg0,
      cwd: spec.cwd,
      env: spec.env,
      pipeStdin: spec.pipeStdin ?? false,
    });
  }
  // PTY mode: arg0 replaces the program that runs (portable-pty), looked up only in the child's PATH.
  const env = { ...spec.env };
  env.SHELL ??= loginShell().path;
  const name = spec.arg0 ?? spec.argv[0];
  const argv = [name, ...spec.argv.slice(1)];
  const full = [...wrapper, ...argv];
  const program = resolveTtyProgram(wrapper.length > 0 ? wrapper[0] : name, env);
  const pty = spawnPty({
    program,
    argv: full,
    cwd: spec.cwd,
    env,
    rows: spec.rows ?? DEFAULT_PTY_ROWS,
    cols: spec.cols ?? DEFAULT_PTY_COLS,
  });
  return {
    pid: pty.pid,
    outputs: [{ name: "pty", stream: pty.output }],
    writeStdin: (data) => pty.write(data),
    closeStdin: () => pty.sendEof(),
    resize: (rows, cols) => pty.resize(rows, cols),
    status: pty.status,
    stdioPipes: new Set(), // a pty: escaped descendants hold the terminal, not pipes
    dispose: () => pty.close(),
  };
}
