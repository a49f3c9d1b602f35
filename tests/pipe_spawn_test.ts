/**
 * Pipe-mode children (`tty:false`) spawned through libc's `posix_spawn`: argv[0], stdio, exit statuses, the
 * spawn error messages (the same as `Deno.Command`'s), big output through the enlarged pipes, stdin EOF and
 * EPIPE, no fd leaked into children, the pipe identities used to find escaped descendants, and the
 * `Deno.Command` fallback without FFI.
 */

import assert from "node:assert/strict";
import type { SpawnedChild } from "../src/process/child.ts";
import { hasLibcSpawn } from "../src/process/libc.ts";
import { spawnWithPipes } from "../src/process/pipe_spawn.ts";
import type { PipeSpawnOptions } from "../src/process/pipe_spawn.ts";
import { RpcError } from "../src/protocol/errors.ts";
import { waitUntil, withTimeout } from "./support/waiting.ts";

const ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", LANG: "C" };
const TIMEOUT_MS = 15_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LINUX = Deno.build.os === "linux";

function spawn(argv: string[], options: Partial<PipeSpawnOptions> = {}): SpawnedChild {
  return spawnWithPipes({
    program: argv[0],
    args: argv.slice(1),
    cwd: "/tmp",
    env: ENV,
    pipeStdin: false,
    ...options,
  });
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Runs the child to the end: its output, its status, then dispose(). */
async function finish(child: SpawnedChild) {
  const [stdout, stderr, status] = await withTimeout(
    Promise.all([bytesOf(child.outputs[0].stream), bytesOf(child.outputs[1].stream), child.status]),
    TIMEOUT_MS,
    "child finishes",
  );
  child.dispose();
  return { stdout: decoder.decode(stdout), stderr: decoder.decode(stderr), status, bytes: stdout };
}

/** Where the kernel has `pid` sleeping (`/proc/<pid>/wchan`), e.g. `anon_pipe_write`; "" once it is gone. */
function wchanOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/wchan`);
  } catch {
    return "";
  }
}

/** Reads `stream` up to and including its first newline; the rest stays readable. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await withTimeout(reader.read(), TIMEOUT_MS, "a line");
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  assert.equal(text.indexOf("\n"), text.length - 1, "nothing followed the first line yet");
  return text.trimEnd();
}

function assertSpawnError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RpcError, `RpcError expected, got ${error}`);
    assert.equal(error.code, -32603);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test({
  name: "pipe spawn uses posix_spawn here (Linux, glibc, --allow-ffi)",
  ignore: !LINUX,
  fn() {
    assert.equal(hasLibcSpawn(), true);
  },
});

Deno.test("pipe spawn passes argv, arg0, the exact env and the cwd", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pipe spawn cwd " });
  try {
    const env = { PATH: "/usr/bin:/bin", ONLY_VAR: "a b" };
    const child = spawn(
      [
        "/bin/sh",
        "-c",
        'echo "$0|$1|$(pwd)"; tr "\\0" " " < /proc/$$/cmdline; echo; env | sort',
        "zero",
        "one",
      ],
      { env, cwd: dir, arg0: "custom-zero" },
    );
    const { stdout, status } = await finish(child);
    assert.deepEqual(status, { code: 0, signal: null });
    const [first, cmdline] = stdout.split("\n");
    assert.equal(first, `zero|one|${dir}`);
    assert.match(cmdline, /^custom-zero -c /);
    const names = [...stdout.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
    assert.deepEqual(names.filter((n) => !["PWD", "SHLVL", "_"].includes(n)), ["ONLY_VAR", "PATH"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipe spawn reports exit codes and signals as 128 + signal", async () => {
  assert.deepEqual((await finish(spawn(["sh", "-c", "exit 7"]))).status, { code: 7, signal: null });
  assert.deepEqual((await finish(spawn(["sh", "-c", "kill -TERM $$"]))).status, { code: 143, signal: 15 });
  assert.deepEqual((await finish(spawn(["sh", "-c", "kill -KILL $$"]))).status, { code: 137, signal: 9 });
});

Deno.test({
  name: "pipe spawn: a session leader with default signals, no blocked signals and only fds 0-2 open",
  ignore: !LINUX,
  async fn() {
    // A non-close-on-exec pipe in this process: closefrom(3) must keep it (and every other fd) out.
    const libc = Deno.dlopen("libc.so.6", {
      pipe: { parameters: ["buffer"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
    });
    const leaky = new Int32Array(2);
    assert.equal(libc.symbols.pipe(leaky), 0);
    try {
      for (const pipeStdin of [false, true]) {
        // The shell lists its own fds (ls runs in a child of it, so its own directory fd is not seen).
        const fds = await finish(spawn(["/bin/sh", "-c", "ls /proc/$$/fd; true"], { pipeStdin }));
        assert.deepEqual(fds.status, { code: 0, signal: null });
        assert.equal(fds.stdout, "0\n1\n2\n");
        // Read by the spawned process itself: a shell blocks every signal around its own forks.
        const signals = await finish(
          spawn(["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], { pipeStdin }),
        );
        const mask = (name: string) =>
          BigInt("0x" + new RegExp(`${name}:\\s+([0-9a-f]+)`).exec(signals.stdout)![1]);
        assert.equal(mask("SigBlk"), 0n);
        // glibc's posix_spawn leaves its internal real-time signals 32 and 33 ignored, as for Deno.Command.
        assert.equal(mask("SigIgn") & 0x7fffffffn, 0n, "signals 1-31 at their defaults");
        const child = spawn(["cat", "/proc/self/stat"], { pipeStdin });
        const { stdout } = await finish(child);
        const stat = stdout.slice(stdout.lastIndexOf(")") + 2).split(" ");
        assert.equal(Number(stat[3]), child.pid, "session id == pid (setsid)");
        assert.equal(Number(stat[2]), child.pid, "process group id == pid");
      }
    } finally {
      libc.symbols.close(leaky[0]);
      libc.symbols.close(leaky[1]);
      libc.close();
    }
  },
});

Deno.test({
  name: "pipe spawn reports the stdio pipes' identities (what /proc/<pid>/fd shows)",
  ignore: !LINUX,
  async fn() {
    for (const pipeStdin of [false, true]) {
      const child = spawn(["sleep", "10"], { pipeStdin });
      try {
        const expected = new Set<string>();
        for (const fd of [0, 1, 2]) {
          const target = Deno.readLinkSync(`/proc/${child.pid}/fd/${fd}`);
          if (target.startsWith("pipe:")) expected.add(target);
        }
        assert.equal(expected.size, pipeStdin ? 3 : 2);
        assert.deepEqual(child.stdioPipes, expected);
      } finally {
        Deno.kill(child.pid, "SIGKILL");
        await finish(child);
      }
    }
  },
});

Deno.test("pipe spawn: several MB of stdout and stderr arrive complete", async () => {
  const size = 12_345_678;
  const child = spawn(["sh", "-c", `head -c ${size} /dev/zero; head -c 3000000 /dev/zero >&2`]);
  const { bytes, stderr, status } = await finish(child);
  assert.deepEqual(status, { code: 0, signal: null });
  assert.equal(bytes.length, size);
  assert.ok(bytes.every((b) => b === 0));
  assert.equal(stderr.length, 3_000_000);
});

Deno.test("pipe spawn: stdin round trip of several MB, then EOF from closeStdin()", async () => {
  const child = spawn(["sha256sum"], { pipeStdin: true });
  const data = new Uint8Array(5_000_003);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
  const output = bytesOf(child.outputs[0].stream);
  // Written in pieces while the child reads: the pipe fills and writes wait for room.
  const writes: Promise<void>[] = [];
  for (let offset = 0; offset < data.length; offset += 700_000) {
    writes.push(child.writeStdin!(data.subarray(offset, offset + 700_000)));
  }
  await withTimeout(Promise.all(writes), TIMEOUT_MS, "writes complete");
  await child.closeStdin!();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data)).toHex();
  assert.equal(decoder.decode(await withTimeout(output, TIMEOUT_MS, "output")).split(" ")[0], digest);
  assert.deepEqual(await child.status, { code: 0, signal: null });
  child.dispose();
});

Deno.test("pipe spawn: a write after the child closed its stdin rejects with EPIPE", async () => {
  const child = spawn(["sh", "-c", "exec 0<&-; echo closed; sleep 10"], { pipeStdin: true });
  try {
    const reader = child.outputs[0].stream.getReader();
    assert.equal(
      decoder.decode((await withTimeout(reader.read(), TIMEOUT_MS, "closed line")).value),
      "closed\n",
    );
    reader.releaseLock();
    await assert.rejects(
      withTimeout(child.writeStdin!(new Uint8Array(200_000)), TIMEOUT_MS, "write settles"),
      /Broken pipe \(os error 32\)/,
    );
    await assert.rejects(child.writeStdin!(encoder.encode("x")), /Broken pipe/);
  } finally {
    Deno.kill(-child.pid, "SIGKILL"); // the group: sh and its sleep
    await finish(child);
  }
});

Deno.test("pipe spawn: a write blocked on a full pipe does not block the event loop", async () => {
  const child = spawn(["sleep", "10"], { pipeStdin: true });
  try {
    const write = child.writeStdin!(new Uint8Array(4 * 1024 * 1024));
    let settled = false;
    write.then(() => settled = true, () => settled = true);
    // `sleep` never reads: the write fills the pipe and waits. Meanwhile the event loop runs a whole other
    // child (spawn, output, exit), which a blocking write would have frozen.
    const other = await finish(spawn(["echo", "alive"]));
    assert.equal(other.stdout, "alive\n");
    assert.equal(settled, false, "the write is still waiting for the pipe");
    Deno.kill(child.pid, "SIGKILL");
    await assert.rejects(
      withTimeout(write, TIMEOUT_MS, "write fails once the reader is gone"),
      /Broken pipe/,
    );
  } finally {
    await finish(child);
  }
});

Deno.test("pipe spawn stops reading a pipe while its output is not consumed", async () => {
  const size = 6_000_000;
  const child = spawn(["sh", "-c", `head -c ${size} /dev/zero & echo $! >&2; wait $!; echo done >&2`]);
  const writer = Number(await firstLine(child.outputs[1].stream));
  const stderr = bytesOf(child.outputs[1].stream);
  let done = false;
  stderr.then(() => done = true);
  await waitUntil(() => wchanOf(writer).includes("pipe_write"), "the writer to block on its stdout pipe");
  // While nobody consumes this child's stdout, the same amount of output flows through a consumed pipe;
  // an unthrottled reader would have let the blocked writer finish by then too.
  const reference = await finish(spawn(["head", "-c", String(size), "/dev/zero"]));
  assert.equal(reference.bytes.length, size);
  assert.match(wchanOf(writer), /pipe_write/, "the writer is still blocked on the full stdout pipe");
  assert.equal(done, false);
  assert.equal((await withTimeout(bytesOf(child.outputs[0].stream), TIMEOUT_MS, "stdout")).length, size);
  assert.equal(decoder.decode(await withTimeout(stderr, TIMEOUT_MS, "stderr")), "done\n");
  assert.deepEqual(await child.status, { code: 0, signal: null });
  child.dispose();
});

Deno.test("pipe spawn runs many children at once with unmixed exit codes and output", async () => {
  const children = Array.from(
    { length: 50 },
    (_, i) => spawn(["sh", "-c", `sleep 0.2; echo child-${i}; exit ${i % 100}`]),
  );
  const results = await withTimeout(Promise.all(children.map(finish)), TIMEOUT_MS, "all children");
  results.forEach((r, i) => {
    assert.deepEqual(r.status, { code: i % 100, signal: null });
    assert.equal(r.stdout, `child-${i}\n`);
  });
});

Deno.test("pipe spawn notices an exit at once while many other children keep running", async () => {
  // One blocked waitpid thread per child would exhaust Deno's blocking pool: exits past it went unseen.
  // posix_spawn returns once each has exec'd: all 80 are running (and watched) from here on.
  const sleepers = Array.from({ length: 80 }, () => spawn(["sleep", "30"]));
  try {
    const started = performance.now();
    const quick = spawn(["sh", "-c", "exit 5"]);
    assert.deepEqual(await withTimeout(quick.status, 5000, "quick exit"), { code: 5, signal: null });
    assert.ok(performance.now() - started < 2000, `exit seen after ${performance.now() - started} ms`);
    await finish(quick);
    // Deno.Command children alongside are unaffected.
    assert.equal((await new Deno.Command("sh", { args: ["-c", "exit 6"] }).output()).code, 6);
  } finally {
    for (const s of sleepers) Deno.kill(s.pid, "SIGKILL");
    const results = await withTimeout(Promise.all(sleepers.map(finish)), TIMEOUT_MS, "sleepers end");
    assert.ok(results.every((r) => r.status.code === 137));
  }
});

Deno.test("pipe spawn looks bare names up in the child's PATH, else the server's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pipe-path-" });
  try {
    await Deno.writeTextFile(`${dir}/hello-prog`, "#!/bin/sh\necho hello from $0\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/not-exec`, "#!/bin/sh\necho no\n", { mode: 0o644 });
    const found = await finish(spawn(["hello-prog"], { env: { PATH: `/nonexistent::${dir}` } }));
    assert.equal(found.stdout, `hello from ${dir}/hello-prog\n`);
    // Relative to the cwd when the name has a slash.
    assert.equal(
      (await finish(spawn(["./hello-prog"], { cwd: dir }))).stdout,
      `hello from ${dir}/hello-prog\n`,
    );
    // No PATH in the child env: the server's PATH.
    assert.deepEqual((await finish(spawn(["true"], { env: {} }))).status, { code: 0, signal: null });
    // Not executable, or not in PATH: not found.
    assertSpawnError(
      () => spawn(["not-exec"], { env: { PATH: dir } }),
      "No such file or directory (os error 2)",
    );
    assertSpawnError(() => spawn(["true"], { env: { PATH: dir } }), "No such file or directory (os error 2)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipe spawn refuses an executable text file without #! (Exec format error), as Codex 0.171 does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pipe-sh-" });
  try {
    await Deno.writeTextFile(`${dir}/plain`, 'echo "plain $1"\n', { mode: 0o755 });
    assertSpawnError(() => spawn([`${dir}/plain`, "arg"]), "Exec format error (os error 8)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipe spawn failures carry Deno.Command's messages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pipe-err-" });
  try {
    await Deno.writeTextFile(`${dir}/no-x`, "#!/bin/sh\n", { mode: 0o644 });
    await Deno.writeTextFile(`${dir}/bad-interp`, "#!/nonexistent/interp\n", { mode: 0o755 });
    const ENOENT = "No such file or directory (os error 2)";
    const cases: [Partial<PipeSpawnOptions> & { program: string }, string][] = [
      [{ program: "definitely-not-a-program-xyz" }, ENOENT],
      [{ program: "/nonexistent/prog" }, ENOENT],
      [{ program: "true", cwd: "/nonexistent-dir-xyz" }, ENOENT],
      [{ program: "true", cwd: "/etc/passwd" }, "Not a directory (os error 20)"],
      [{ program: "true", cwd: "relative\u0000" }, ENOENT],
      [{ program: "/etc/passwd" }, "Permission denied (os error 13)"],
      [{ program: "/etc/passwd", arg0: "zero" }, "Permission denied (os error 13)"],
      [{ program: "/tmp" }, "Permission denied (os error 13)"],
      [{ program: `${dir}/no-x` }, "Permission denied (os error 13)"],
      [{ program: `${dir}/bad-interp` }, ENOENT],
      [{ program: "true", args: ["a\u0000b"] }, "Invalid argument (os error 22)"],
      [{ program: "true", env: { PATH: "/usr/bin:/bin", X: "a\u0000" } }, "Invalid argument (os error 22)"],
      [{ program: "/bin/tr\u0000ue" }, "Invalid argument (os error 22)"],
      [{ program: "" }, "missing program for pipe spawn"],
    ];
    for (const [options, message] of cases) {
      assertSpawnError(() => spawn([options.program], options), message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the spawn path loads node:tty lazily (no static import of node:tty or node:child_process)", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../src/process/spawn_child.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const info = JSON.parse(decoder.decode(stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) stack.push(dep.code.specifier);
    }
  }
  assert.ok(!seen.has("node:tty"), "node:tty is imported statically");
  assert.ok(!seen.has("node:child_process"), "node:child_process is imported statically");
});

Deno.test({
  name: "pipe spawn falls back to Deno.Command without --allow-ffi",
  ignore: !LINUX,
  async fn() {
    const script = `
      import { spawnWithPipes } from ${
      JSON.stringify(new URL("../src/process/pipe_spawn.ts", import.meta.url).href)
    };
      import { hasLibcSpawn } from ${JSON.stringify(new URL("../src/process/libc.ts", import.meta.url).href)};
      const child = spawnWithPipes({ program: "sh", args: ["-c", "cat; echo err >&2; exit 3"], cwd: "/tmp",
        env: { PATH: "/usr/bin:/bin" }, pipeStdin: true });
      await child.writeStdin(new TextEncoder().encode("in"));
      await child.closeStdin();
      const [out, err, status] = await Promise.all([new Response(child.outputs[0].stream).text(),
        new Response(child.outputs[1].stream).text(), child.status]);
      child.dispose();
      let message = "";
      try { spawnWithPipes({ program: "/nonexistent", args: [], cwd: "/tmp", env: {}, pipeStdin: false }); }
      catch (e) { message = e.message; }
      console.log(JSON.stringify({ ffi: hasLibcSpawn(), out, err, status, message }));
    `;
    const project = new URL("..", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--deny-ffi", "-"],
      cwd: project,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(script));
    await writer.close();
    const { code, stdout, stderr } = await withTimeout(child.output(), TIMEOUT_MS, "the no-FFI run");
    assert.equal(code, 0, decoder.decode(stderr));
    assert.deepEqual(JSON.parse(decoder.decode(stdout)), {
      ffi: false,
      out: "in",
      err: "err\n",
      status: { code: 3, signal: null },
      message: "No such file or directory (os error 2)",
    });
  },
});
