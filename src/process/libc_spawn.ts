/**
 * `posix_spawn` of a session leader with given stdio (glibc's `clone(CLONE_VM|CLONE_VFORK)`: no page tables
 * copied, unlike `Deno.Command` with `detached`, which forks the whole Deno process).
 *
 * @module
 */
import { check, cString, cStringArray, type Libc, libc, LibcError, O_RDONLY, O_RDWR } from "./libc.ts";

// glibc's <spawn.h> flags.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

// Opaque glibc structs are allocated generously: posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128.
const SPAWNATTR_BYTES = 512;
const FILE_ACTIONS_BYTES = 256;
const SIGSET_BYTES = 256;

/** What {@link spawnSessionLeader} needs. */
export interface SessionSpawn {
  /** Path passed to `posix_spawn` (no PATH search happens here). */
  path: string;
  argv: string[];
  /** `KEY=value` strings. */
  envp: string[];
  /** Working directory, entered in the child before exec. */
  cwd: string;
  /** The pty slave to open as fds 0, 1 and 2. */
  ttyPath: string;
}

/**
 * Spawns `path` as a new session leader whose fds 0/1/2 are the pty slave (opened without `O_NOCTTY`, so it
 * becomes the controlling terminal), with every signal at its default disposition and none blocked (Deno
 * ignores SIGPIPE; children must not inherit that), and every other fd closed. Returns the pid.
 * Throws {@link LibcError} with the errno `posix_spawn` returned (a failing chdir or exec shows up here).
 */
export function spawnSessionLeader(spec: SessionSpawn): number {
  // Open the slave as fd 0 (after setsid, so it becomes the controlling terminal), then copy it to 1 and 2.
  return spawnSession({
    path: spec.path,
    argv: spec.argv,
    envp: spec.envp,
    cwd: spec.cwd,
    stdio: [{ open: spec.ttyPath, flags: O_RDWR }, { dup: 0 }, { dup: 0 }],
  });
}

/** What a child's fd 0, 1 or 2 becomes: a path opened there, or a copy of one of our fds. */
export type StdioAction = { open: string; flags: number } | { dup: number };

/** `/dev/null` for reading, as a child's stdin. */
export const DEV_NULL_STDIN: StdioAction = { open: "/dev/null", flags: O_RDONLY };

/** What {@link spawnSession} needs. */
export interface SpawnSpec {
  /** Path passed to `posix_spawn` (no PATH search happens here); relative to the server's cwd. */
  path: string;
  argv: string[];
  /** `KEY=value` strings. */
  envp: string[];
  /** Working directory, entered in the child before exec (after the stdio actions). */
  cwd: string;
  /**
   * The child's fds 0, 1 and 2, set up in order. `dup` sources must be >= 3 or an earlier target (see
   * `pipe` in `libc_fds.ts`); they stay open in the parent (the caller closes its copies after the spawn).
   */
  stdio: [StdioAction, StdioAction, StdioAction];
}

/** The spawn attributes are the same for every child: built once, reused (posix_spawn only reads them). */
let spawnAttr: Uint8Array<ArrayBuffer> | null = null;

function sessionSpawnAttr(c: Libc): Uint8Array<ArrayBuffer> {
  if (spawnAttr) return spawnAttr;
  const attr = new Uint8Array(SPAWNATTR_BYTES);
  const allSignals = new Uint8Array(SIGSET_BYTES);
  const noSignals = new Uint8Array(SIGSET_BYTES);
  c.sigfillset(allSignals);
  c.sigemptyset(noSignals);
  check("posix_spawnattr_init", c.posix_spawnattr_init(attr));
  try {
    check(
      "posix_spawnattr_setflags",
      c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
    );
    check("posix_spawnattr_setsigdefault", c.posix_spawnattr_setsigdefault(attr, allSignals));
    check("posix_spawnattr_setsigmask", c.posix_spawnattr_setsigmask(attr, noSignals));
  } catch (error) {
    c.posix_spawnattr_destroy(attr);
    throw error;
  }
  spawnAttr = attr;
  return attr;
}

/**
 * Spawns `path` as a new session leader (setsid: its own session and process group) with the given fds
 * 0/1/2, every signal at its default disposition and none blocked (Deno ignores SIGPIPE; children must not
 * inherit that), every other fd closed (closefrom(3) on glibc >= 2.34; before that, every fd of ours is
 * close-on-exec), in `cwd`. Returns the pid.
 *
 * glibc's `posix_spawn` runs the child on `clone(CLONE_VM|CLONE_VFORK)`: no page tables are copied, the
 * caller is suspended only until the exec, and a failing file action, chdir or exec is returned as the
 * error. Throws {@link LibcError} with that errno (or `EINVAL` for a NUL byte inside a string).
 */
export function spawnSession(spec: SpawnSpec): number {
  const c = libc();
  const path = cString(spec.path, "program");
  const cwd = cString(spec.cwd, "cwd");
  const argv = cStringArray(spec.argv, "argv");
  const envp = cStringArray(spec.envp, "env");
  const attr = sessionSpawnAttr(c);
  const actions = new Uint8Array(FILE_ACTIONS_BYTES);
  const keep: Uint8Array[] = [];
  const pid = new Int32Array(1);
  check("posix_spawn_file_actions_init", c.posix_spawn_file_actions_init(actions));
  try {
    for (let fd = 0; fd < 3; fd++) {
      const action = spec.stdio[fd];
      if ("dup" in action) {
        check("adddup2", c.posix_spawn_file_actions_adddup2(actions, action.dup, fd));
      } else {
        const target = cString(action.open, "stdio path");
        keep.push(target);
        check("addopen", c.posix_spawn_file_actions_addopen(actions, fd, target, action.flags, 0));
      }
    }
    if (c.posix_spawn_file_actions_addclosefrom_np) {
      check("addclosefrom_np", c.posix_spawn_file_actions_addclosefrom_np(actions, 3));
    }
    // Last, so a relative cwd is not applied to a relative stdio path.
    check("addchdir_np", c.posix_spawn_file_actions_addchdir_np(actions, cwd));
    const rc = c.posix_spawn(pid, path, actions, attr, argv.array, envp.array);
    if (rc !== 0) throw new LibcError("posix_spawn", rc);
    return pid[0];
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
    keep.length = 0;
  }
}
