/**
 * Pseudo-terminal children (`tty:true`): real programs driven through a real pty, exit statuses, window size,
 * line-discipline signals and EOF, backpressure, and the reference's spawn error messages.
 */

import assert from "node:assert/strict";
import { ErrorCode, RpcError } from "../src/protocol/errors.ts";
import { type ExitStatus, type PtyChild, type PtySpawnOptions, spawnPty } from "../src/process/pty.ts";
import { resolveTtyProgram } from "../src/process/tty_program.ts";
import { waitUntil, withTimeout } from "./support/waiting.ts";

const ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", LANG: "C" };
const TIMEOUT_MS = 15_000;
const encoder = new TextEncoder();

/** A pty child plus everything it printed so far, with waits on that text. */
class Session {
  text = "";
  ended = false;
  readonly drained: Promise<void>;
  #exited = false;
  #changed: () => void = () => {};

  constructor(readonly child: PtyChild) {
    child.status.then(() => this.#exited = true);
    const decoder = new TextDecoder();
    this.drained = (async () => {
      for await (const chunk of child.output) {
        this.text += decoder.decode(chunk, { stream: true });
        this.#changed();
      }
      this.ended = true;
      this.#changed();
    })();
  }

  /** Waits until the output matches `pattern` (fails on timeout or if the output ends first). */
  async waitFor(pattern: RegExp): Promise<void> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pattern.test(this.text)) {
      if (this.ended) assert.fail(`output ended without ${pattern}: ${JSON.stringify(this.text)}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) assert.fail(`timed out waiting for ${pattern}: ${JSON.stringify(this.text)}`);
      await withTimeout(
        new Promise<void>((resolve) => this.#changed = resolve),
        remaining,
        `output ${pattern}`,
      )
        .catch(() => {});
    }
  }

  /** Waits for the exit and the end of output, then releases the master. */
  async finish(): Promise<ExitStatus> {
    const status = await withTimeout(this.child.status, TIMEOUT_MS, "child exit");
    await withTimeout(this.drained, TIMEOUT_MS, "end of output");
    this.child.close();
    return status;
  }

  /** Cleanup for `finally`: kills the child if it is still running, reaps it, and closes the master. */
  async dispose(): Promise<void> {
    if (!this.#exited) {
      try {
        Deno.kill(-this.child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await withTimeout(this.child.status, TIMEOUT_MS, "child exit after SIGKILL");
    this.child.close();
    await withTimeout(this.drained, TIMEOUT_MS, "end of output after close");
  }
}

function start(argv: string[], options: Partial<PtySpawnOptions> = {}): Session {
  const env = options.env ?? ENV;
  return new Session(spawnPty({
    program: resolveTtyProgram(argv[0], env),
    argv,
    cwd: "/tmp",
    env,
    rows: 24,
    cols: 80,
    ...options,
  }));
}

/** Runs `fn` on a session for `argv`, always cleaning up. */
async function withPty(
  argv: string[],
  fn: (s: Session) => Promise<void>,
  options?: Partial<PtySpawnOptions>,
) {
  const session = start(argv, options);
  try {
    await fn(session);
  } finally {
    await session.dispose();
  }
}

/** The foreground process group of `pid`'s controlling terminal (`tpgid` in /proc/<pid>/stat). */
function foregroundGroup(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(fields[5]);
}

function assertSpawnError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RpcError, `expected RpcError, got ${error}`);
    assert.equal(error.code, ErrorCode.InternalError);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

Deno.test("spawnPty() drives an interactive bash prompt", async () => {
  await withPty(["bash", "-c", "read -p 'name? ' n; echo hello-$n"], async (s) => {
    await s.waitFor(/name\? $/);
    await s.child.write(encoder.encode("world\r"));
    await s.waitFor(/hello-world\r\n/);
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
  });
});

Deno.test("spawnPty() gives the child a controlling terminal on fds 0, 1 and 2", async () => {
  const script =
    "tty; for fd in 0 1 2; do [ -t $fd ] && echo isatty-$fd; done; echo via-dev-tty > /dev/tty; " +
    "ps -o pid=,pgid=,sid=,tpgid= -p $$";
  await withPty(["bash", "-c", script], async (s) => {
    const status = await s.finish();
    assert.deepEqual(status, { code: 0, signal: null });
    assert.match(s.text, /^\/dev\/pts\/\d+\r\n/);
    assert.match(s.text, /isatty-0\r\nisatty-1\r\nisatty-2\r\n/);
    assert.match(s.text, /via-dev-tty\r\n/);
    // Session leader and foreground group of its terminal: pid == pgid == sid == tpgid.
    const ids = s.text.trim().split("\n").at(-1)!.trim().split(/\s+/).map(Number);
    assert.deepEqual(ids, [s.child.pid, s.child.pid, s.child.pid, s.child.pid]);
  });
});

Deno.test("spawnPty() starts at the requested size and resize() is seen by the child", async () => {
  // The WINCH trap runs between two short sleeps, prints the new size and exits.
  const script = "trap 'stty size; exit 0' WINCH; stty size; echo ready; while :; do sleep 0.05; done";
  await withPty(["bash", "-c", script], async (s) => {
    await s.waitFor(/^24 80\r\nready\r\n/);
    s.child.resize(40, 120);
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
    assert.equal(s.text, "24 80\r\nready\r\n40 120\r\n");
  });
});

Deno.test("spawnPty() honours other initial sizes", async () => {
  await withPty(["stty", "size"], async (s) => {
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
    assert.equal(s.text, "50 132\r\n");
  }, { rows: 50, cols: 132 });
});

Deno.test("spawnPty() delivers Ctrl-C through the line discipline to a foreground sleep", async () => {
  await withPty(["sleep", "100"], async (s) => {
    await s.child.write(encoder.encode("\x03"));
    assert.deepEqual(await s.finish(), { code: 130, signal: 2 });
  });
});

Deno.test("spawnPty() Ctrl-C interrupts a command and the shell carries on", async () => {
  // An interactive shell runs `sleep` as its own foreground job; ^C kills only that job.
  const env = { ...ENV, PS1: "prompt> " };
  await withPty(["bash", "--norc", "--noprofile", "-i"], async (s) => {
    await s.waitFor(/prompt> $/);
    await s.child.write(encoder.encode("sleep 100\r"));
    await waitUntil(
      () => foregroundGroup(s.child.pid) !== s.child.pid,
      "sleep becomes the foreground job",
      TIMEOUT_MS,
    );
    await s.child.write(encoder.encode("\x03"));
    await s.waitFor(/\^C\r\nprompt> $/);
    await s.child.write(encoder.encode("echo status-$?\r"));
    await s.waitFor(/status-130\r\nprompt> $/);
    await s.child.write(encoder.encode("exit 7\r"));
    assert.deepEqual(await s.finish(), { code: 7, signal: null });
  }, { env });
});

Deno.test("spawnPty() sendEof() ends input for cat after a complete line", async () => {
  await withPty(["cat"], async (s) => {
    await s.child.write(encoder.encode("abc\n"));
    await s.waitFor(/abc\r\nabc\r\n/); // echo, then cat's copy
    await s.child.sendEof();
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
  });
});

Deno.test("spawnPty() sendEof() after a partial line submits it and then ends input", async () => {
  await withPty(["wc", "-c"], async (s) => {
    await s.child.write(encoder.encode("abc"));
    await s.child.sendEof();
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
    assert.match(s.text, /^abc\s*3\r\n$/);
  });
});

Deno.test("spawnPty() delivers a large write completely while output is read", async () => {
  const line = "x".repeat(99) + "\n";
  const input = encoder.encode(line.repeat(2000));
  await withPty(["bash", "-c", "stty -echo; echo ready; wc -c"], async (s) => {
    await s.waitFor(/ready\r\n/);
    await withTimeout(s.child.write(input), TIMEOUT_MS, "200 kB write");
    await s.child.sendEof();
    assert.deepEqual(await s.finish(), { code: 0, signal: null });
    assert.match(s.text, /ready\r\n\s*200000\r\n$/);
  });
});

Deno.test("spawnPty() write() does not block the event loop when nobody reads the terminal", async () => {
  await withPty(["sleep", "100"], async (s) => {
    let settled = false;
    // Handled at once: the rejection may come (when the child dies) before we get to assert on it.
    const outcome = s.child.write(new Uint8Array(1 << 20).fill(0x61)).then(
      () => "resolved",
      (error: Error) => error,
    ).finally(() => settled = true);
    // Timers keep running and the write stays pending: the pty input queue is full, not the event loop.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(settled, false);
    Deno.kill(-s.child.pid, "SIGKILL");
    assert.deepEqual(await withTimeout(s.child.status, TIMEOUT_MS, "exit"), { code: 137, signal: 9 });
    s.child.close();
    const result = await withTimeout(outcome, TIMEOUT_MS, "pending write settles");
    assert.ok(result instanceof Error, `the pending write should fail, got ${result}`);
  });
});

Deno.test("spawnPty() stops reading the master while output is not consumed", async () => {
  const total = 4_000_000;
  const child = spawnPty({
    program: "/usr/bin/head",
    argv: ["head", "-c", String(total), "/dev/zero"],
    cwd: "/tmp",
    env: ENV,
    rows: 24,
    cols: 80,
  });
  let exited = false;
  child.status.then(() => exited = true);
  try {
    // Do not read: the child must end up blocked in write() long before it has written everything.
    const deadline = Date.now() + TIMEOUT_MS;
    let previous = -1;
    while (true) {
      assert.ok(Date.now() < deadline, "child never blocked on a full terminal");
      await new Promise((resolve) => setTimeout(resolve, 50));
      const written = Number(/wchar: (\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/io`))![1]);
      const state = Deno.readTextFileSync(`/proc/${child.pid}/stat`).split(") ")[1][0];
      if (written === previous && state === "S") break;
      previous = written;
    }
    assert.equal(exited, false);
    assert.ok(previous < total / 2, `child wrote ${previous} bytes with nobody reading`);
    // Reading resumes the flow, and every byte arrives.
    let received = 0;
    for await (const chunk of child.output) received += chunk.length;
    assert.equal(received, total);
    assert.deepEqual(await withTimeout(child.status, TIMEOUT_MS, "exit"), { code: 0, signal: null });
  } finally {
    if (!exited) Deno.kill(child.pid, "SIGKILL");
    await withTimeout(child.status, TIMEOUT_MS, "exit");
    child.close();
  }
});

Deno.test("spawnPty() keeps draining the terminal after the output stream is cancelled", async () => {
  const child = spawnPty({
    program: "/usr/bin/head",
    argv: ["head", "-c", "4000000", "/dev/zero"],
    cwd: "/tmp",
    env: ENV,
    rows: 24,
    cols: 80,
  });
  try {
    const reader = child.output.getReader();
    assert.ok((await withTimeout(reader.read(), TIMEOUT_MS, "first chunk")).value!.length > 0);
    await reader.cancel();
    assert.deepEqual(await withTimeout(child.status, TIMEOUT_MS, "exit with nobody reading"), {
      code: 0,
      signal: null,
    });
  } finally {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* already reaped */ }
    await withTimeout(child.status, TIMEOUT_MS, "exit");
    child.close();
  }
});

Deno.test("spawnPty() reports exit codes and signals as 128 + signal", async () => {
  await withPty(["bash", "-c", "exit 42"], async (s) => {
    assert.deepEqual(await s.finish(), { code: 42, signal: null });
  });
  await withPty(["sleep", "100"], async (s) => {
    Deno.kill(-s.child.pid, "SIGKILL");
    assert.deepEqual(await s.finish(), { code: 137, signal: 9 });
  });
  await withPty(["bash", "-c", "kill -TERM $$"], async (s) => {
    assert.deepEqual(await s.finish(), { code: 143, signal: 15 });
  });
});

Deno.test("spawnPty() children start with default signal dispositions and no inherited fds", async () => {
  // Deno ignores SIGPIPE; the child must not inherit that. (glibc's posix_spawn leaves its two internal
  // real-time signals, 32 and 33, ignored: Deno.Command children show the same, hence only 1-31 are checked.)
  // Only fds 0-2 (plus ls's own) may be open.
  await withPty(
    ["bash", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status; ls -l /proc/self/fd/"],
    async (s) => {
      assert.deepEqual(await s.finish(), { code: 0, signal: null });
      const mask = (name: string) => BigInt("0x" + new RegExp(`${name}:\\s+([0-9a-f]+)`).exec(s.text)![1]);
      assert.equal(mask("SigBlk"), 0n);
      assert.equal(mask("SigIgn") & 0x7fffffffn, 0n, "signals 1-31 at their defaults");
      assert.doesNotMatch(s.text, /ptmx/);
      const fds = [...s.text.matchAll(/ (\d+) -> /g)].map((m) => Number(m[1]));
      assert.deepEqual(fds.filter((fd) => fd > 3), []);
    },
  );
});

Deno.test("spawnPty() passes argv, the exact env and the cwd", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pty-cwd-" });
  try {
    const env = { PATH: "/usr/bin:/bin", ONLY_VAR: "a b" };
    await withPty(["bash", "-c", 'echo "$0|$1|$(pwd)"; env | sort', "zero", "one"], async (s) => {
      assert.deepEqual(await s.finish(), { code: 0, signal: null });
      assert.match(s.text, new RegExp(`^zero\\|one\\|${dir}\\r\\n`));
      const names = [...s.text.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
      assert.deepEqual(names.filter((n) => !["PWD", "SHLVL", "_"].includes(n)), ["ONLY_VAR", "PATH"]);
      assert.match(s.text, /ONLY_VAR=a b\r\n/);
    }, { env, cwd: dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawnPty() runs alongside Deno.Command children with unmixed exit codes", async () => {
  const ptys = Array.from({ length: 5 }, (_, i) => start(["bash", "-c", `sleep 0.2; exit ${10 + i}`]));
  try {
    const commands = Array.from(
      { length: 5 },
      (_, i) => new Deno.Command("sh", { args: ["-c", `sleep 0.2; exit ${20 + i}`] }).output(),
    );
    const [ptyStatuses, commandResults] = await withTimeout(
      Promise.all([Promise.all(ptys.map((s) => s.finish())), Promise.all(commands)]),
      TIMEOUT_MS,
      "all children",
    );
    assert.deepEqual(ptyStatuses.map((s) => s.code), [10, 11, 12, 13, 14]);
    assert.deepEqual(commandResults.map((r) => r.code), [20, 21, 22, 23, 24]);
  } finally {
    await Promise.all(ptys.map((s) => s.dispose()));
  }
});

Deno.test("spawnPty() close() is idempotent and ends output held open by a background process", async () => {
  // The background sleep inherits an ignored SIGHUP (set before it is forked, so no race with the leader's
  // exit) and keeps the slave open after the leader exits: the output would never end by itself.
  const s = start(["bash", "-c", "trap '' HUP; sleep 100 & echo started"]);
  try {
    await s.waitFor(/started\r\n/);
    assert.deepEqual(await withTimeout(s.child.status, TIMEOUT_MS, "leader exit"), { code: 0, signal: null });
    assert.equal(s.ended, false);
    s.child.close();
    s.child.close();
    await withTimeout(s.drained, TIMEOUT_MS, "output ends after close()");
    assert.equal(s.ended, true);
    s.child.resize(30, 90); // a no-op once closed
    await assert.rejects(s.child.write(encoder.encode("x")), /closed/);
  } finally {
    // The orphaned sleep is still in the leader's process group.
    try {
      Deno.kill(-s.child.pid, "SIGKILL");
    } catch { /* already gone */ }
    await s.dispose();
  }
});

Deno.test("resolveTtyProgram() reports a missing absolute path like the reference", () => {
  assertSpawnError(
    () => resolveTtyProgram("/nonexistent/prog", ENV),
    "Unable to spawn /nonexistent/prog because it doesn't exist on the filesystem (ENOENT: No such file or directory)",
  );
});

Deno.test("resolveTtyProgram() needs a PATH in the child env for bare names", () => {
  assertSpawnError(
    () => resolveTtyProgram("bash", { HOME: "/tmp" }),
    "Unable to spawn bash because:\nUnable to resolve the PATH",
  );
});

Deno.test("resolveTtyProgram() lists the PATH searched when nothing is found", () => {
  assertSpawnError(
    () => resolveTtyProgram("no-such-program-xyz", { PATH: "/usr/bin:/bin" }),
    'Unable to spawn no-such-program-xyz because:\nNo viable candidates found in PATH "/usr/bin:/bin"',
  );
});

Deno.test("resolveTtyProgram() uses only the child env's PATH and names unusable candidates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pty-path-" });
  try {
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\necho tool\n", { mode: 0o644 });
    await Deno.mkdir(`${dir}/sub`);
    assertSpawnError(
      () => resolveTtyProgram("tool", { PATH: dir }),
      `Unable to spawn tool because:\n${dir}/tool exists but is not executable.\nNo viable candidates found in PATH "${dir}"`,
    );
    assertSpawnError(
      () => resolveTtyProgram("sub", { PATH: dir }),
      new RegExp(`${dir}/sub exists but is a directory`),
    );
    await Deno.chmod(`${dir}/tool`, 0o755);
    assert.equal(resolveTtyProgram("tool", { PATH: `/nonexistent:${dir}` }), `${dir}/tool`);
    assert.equal(resolveTtyProgram("./tool", {}, dir), `${dir}/./tool`);
    assert.equal(resolveTtyProgram("bash", { PATH: "/bin" }), "/bin/bash");
    assert.equal(resolveTtyProgram("tool", { PATH: "." }, dir), `${dir}/./tool`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawnPty() rejects a missing cwd and reports exec failures", async () => {
  const base = { argv: ["x"], env: ENV, rows: 24, cols: 80 };
  assertSpawnError(
    () => spawnPty({ ...base, program: "/bin/true", cwd: "/nonexistent-dir" }),
    'No such file or directory (os error 2): cwd "/nonexistent-dir"',
  );
  assertSpawnError(
    () => spawnPty({ ...base, program: "/bin/true", cwd: "/etc/passwd" }),
    'Not a directory (os error 20): cwd "/etc/passwd"',
  );
  const dir = await Deno.makeTempDir({ prefix: "pty-exec-" });
  try {
    await Deno.writeTextFile(`${dir}/plain`, "echo hi\n", { mode: 0o644 });
    await Deno.writeFile(`${dir}/garbage`, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]), {
      mode: 0o755,
    });
    assertSpawnError(
      () => spawnPty({ ...base, program: `${dir}/plain`, cwd: dir }),
      "Permission denied (os error 13)",
    );
    assertSpawnError(
      () => spawnPty({ ...base, program: `${dir}/garbage`, cwd: dir }),
      "Exec format error (os error 8)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
