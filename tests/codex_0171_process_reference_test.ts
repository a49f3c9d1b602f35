/**
 * Differential tests of Codex 0.171's process and environment additions: `environment/status`,
 * `sandboxType`, `sandboxDenied` on `process/exited` and `process/read`, `nextSeq` after `closed`,
 * `writeId` deduplication, `metadata`/`enforceManagedNetwork` validation and the `data.kind` of spawn
 * errors, sent to the real 0.171 exec-server and to ours over stdio.
 */
import { b64, call, compare, type Step, u } from "./support/differential.ts";
import type { Json } from "./support/rpc_peer.ts";

const PATH = "/usr/bin:/bin";
const start = (w: string, processId: string, argv: string[], extra: Json = {}) => ({
  processId,
  argv,
  cwd: u(w),
  env: { PATH },
  tty: false,
  ...extra,
});
const startOk = (processId: string, argv: string[], extra: Json = {}): Step =>
  call("process/start", (w) => start(w, processId, argv, extra));
const handshake: Step[] = [
  call("initialize", () => ({ clientName: "diff", resumeSessionId: null }), "ok"),
  { notify: "initialized" },
];

Deno.test("environment/status answers ready, with the reference's gate and unit-params errors", () =>
  compare(() => {}, [
    call("environment/status", () => null),
    ...handshake,
    call("environment/status", () => null),
    call("environment/status", () => undefined),
    call("environment/status", () => ({})),
    call("environment/status", () => []),
    call("environment/status", () => 5),
  ], { handshake: false }));

Deno.test("spawn errors carry data.kind, and a non-executable text file is not run through sh", () =>
  compare(async (w) => {
    await Deno.writeTextFile(`${w}/notexec.txt`, "echo ran\n", { mode: 0o755 });
    await Deno.writeTextFile(`${w}/file`, "");
  }, [
    call("process/start", (w) => start(w, "e1", ["/nonexistent-parity/prog"])),
    call("process/start", (w) => ({ ...start(w, "e2", ["true"]), cwd: u(w, "missing-dir") })),
    call("process/start", (w) => ({ ...start(w, "e3", ["true"]), cwd: u(w, "file") })),
    call("process/start", (w) => start(w, "e4", [""])),
    call("process/start", (w) => start(w, "e5", ["no-such-prog-parity"])),
    call("process/start", (w) => start(w, "e6", [`${w}/notexec.txt`])),
    startOk("ok", ["true"]),
  ]));

Deno.test("process/exited and process/read carry sandboxDenied; nextSeq points past closed", () =>
  compare(() => {}, [
    startOk("p", ["sh", "-c", "echo out; sleep .05; echo err >&2; sleep .05; exit 3"]),
    { notifications: 4 },
    call("process/read", () => ({ processId: "p", afterSeq: 0 })),
    call("process/read", () => ({ processId: "p" })),
    call("process/read", () => ({ processId: "p", afterSeq: 1 })),
    call("process/read", () => ({ processId: "p", afterSeq: 2 })),
    call("process/read", () => ({ processId: "p", afterSeq: 100 })),
  ], { extensions: ["droppedBytes"] }));

Deno.test("a repeated writeId is accepted and not written again; bad writeIds are -32602", () =>
  compare(() => {}, [
    // `head` ends after three lines: one, two, three if the repeats were dropped.
    startOk("w", ["sh", "-c", "head -n 3 > out.txt"], { pipeStdin: true }),
    call("process/write", () => ({ processId: "w", chunk: b64("one\n"), writeId: "id1" })),
    call("process/write", () => ({ processId: "w", chunk: b64("one\n"), writeId: "id1" })),
    call("process/write", () => ({ processId: "w", chunk: b64("ONE\n"), writeId: "id1" })),
    call("process/write", () => ({ processId: "w", chunk: b64("bad\n"), writeId: "" })),
    call("process/write", () => ({ processId: "w", chunk: b64("bad\n"), writeId: null })),
    call("process/write", () => ({ processId: "w", chunk: b64("bad\n"), writeId: 7 }), "code"),
    call("process/write", () => ({ processId: "w", chunk: b64("two\n"), writeId: "id2" })),
    ...Array.from(
      { length: 20 },
      (_, i) => call("process/write", () => ({ processId: "w", chunk: "", writeId: `f${i}` })),
    ),
    call("process/write", () => ({ processId: "w", chunk: b64("one-later\n"), writeId: "id1" })),
    call("process/write", () => ({ processId: "w", chunk: b64("three\n"), writeId: "id3" })),
    { notifications: 2 },
    { fact: (w) => Deno.readTextFile(`${w}/out.txt`) },
  ]));

Deno.test("metadata.threadId must be a UUID and enforceManagedNetwork a boolean, else nothing starts", () =>
  compare(() => {}, [
    // The uuid crate's wording is not copied: the code and the effect (nothing started) are.
    call(
      "process/start",
      (w) => start(w, "m1", ["true"], { metadata: { threadId: "not-a-uuid", toolCallId: "c" } }),
      "code",
    ),
    call("process/read", () => ({ processId: "m1" })),
    call(
      "process/start",
      (w) => start(w, "m2", ["true"], { metadata: { threadId: 5 } }),
      "code",
    ),
    startOk("m3", ["true"], {
      metadata: { threadId: "8c7e1f2a-4b3d-4e5f-9a6b-7c8d9e0f1a2b", toolCallId: "c" },
    }),
    startOk("m4", ["true"], { metadata: { threadId: "urn:uuid:8c7e1f2a-4b3d-4e5f-9a6b-7c8d9e0f1a2b" } }),
    startOk("m5", ["true"], { metadata: {} }),
    startOk("m6", ["true"], { metadata: null }),
    startOk("n1", ["true"], { enforceManagedNetwork: "yes" }),
    startOk("n2", ["true"], { enforceManagedNetwork: true, managedNetwork: null }),
    startOk("n3", ["true"], { managedNetwork: {}, networkProxy: null, shellSnapshot: null }),
  ]));
