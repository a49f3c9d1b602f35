/**
 * The console's feed (src/server/console_feed.ts) against a stand-in socket and clock: a snapshot first,
 * then only changed fields, removed rows and new audit events; nothing while nothing changed; no send while
 * the socket is backed up (the changes coalesce into the next delta); a console stalled for too long is
 * closed.
 */
import assert from "node:assert/strict";
import type { AdminProcess, AdminSession } from "../src/protocol/admin.ts";
import type { AuditEvent } from "../src/server/audit.ts";
import {
  ConsoleFeed,
  type FeedMessage,
  type FeedSocket,
  HIGH_WATER_BYTES,
  STALL_MS,
} from "../src/server/console_feed.ts";

class FakeSocket implements FeedSocket {
  bufferedAmount = 0;
  readyState = 1;
  sent: FeedMessage[] = [];
  closed: [number | undefined, string | undefined] | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number, reason?: string): void {
    this.closed = [code, reason];
    this.readyState = 3;
  }
  take(): FeedMessage[] {
    return this.sent.splice(0);
  }
}

function process(processId: string, outputBytes = 0): AdminProcess {
  return {
    processId,
    pid: 100,
    argv: ["sh", "-c", "true"],
    cwd: "/tmp",
    tty: false,
    sandboxed: false,
    state: "running",
    exitCode: null,
    startedAt: 1_000,
    endedAt: null,
    outputBytes,
    size: { rows: 24, cols: 80 },
  };
}

function session(sessionId: string, processes: AdminProcess[]): AdminSession {
  return {
    sessionId,
    clientName: "agent",
    peer: "127.0.0.1:1",
    attached: true,
    createdAt: 1_000,
    ageMs: 5,
    processes,
  };
}

function setup() {
  const socket = new FakeSocket();
  let clock = 10_000;
  let listing: AdminSession[] = [session("s1", [process("a"), process("b")])];
  const trail = { events: [] as AuditEvent[], version: 0 };
  // Fresh objects each round, as the server's listing makes them.
  const feed = new ConsoleFeed(socket, () => structuredClone(listing), trail, () => clock);
  return {
    socket,
    feed,
    trail,
    set listing(value: AdminSession[]) {
      listing = value;
    },
    advance(ms: number) {
      clock += ms;
    },
  };
}

Deno.test("the console feed sends a snapshot, then only what changed, and nothing when nothing did", () => {
  const t = setup();
  t.feed.tick();
  const [snapshot] = t.socket.take();
  assert.equal(snapshot.type, "snapshot");
  assert.equal(snapshot.now, 10_000);
  assert.deepEqual(snapshot.sessions, [{
    sessionId: "s1",
    clientName: "agent",
    peer: "127.0.0.1:1",
    attached: true,
    createdAt: 1_000,
  }]);
  assert.deepEqual(snapshot.processes.map((p) => p.processId), ["a", "b"]);
  assert.deepEqual(snapshot.processes[0], { ...process("a"), sessionId: "s1" });

  t.feed.tick();
  assert.deepEqual(t.socket.take(), [], "nothing changed, nothing sent");

  t.listing = [session("s1", [{ ...process("a", 42), argv: ["sh", "-c", "true"] }, {
    ...process("b"),
    size: { rows: 30, cols: 100 },
  }])];
  t.trail.events.push({ type: "admin.list", peer: "p", sessions: 1 } as AuditEvent);
  t.trail.version++;
  t.advance(100);
  t.feed.tick();
  const [delta] = t.socket.take();
  assert.deepEqual(delta, {
    type: "delta",
    now: 10_100,
    sessions: [],
    processes: [
      { sessionId: "s1", processId: "a", outputBytes: 42 },
      { sessionId: "s1", processId: "b", size: { rows: 30, cols: 100 } },
    ],
    removedSessions: [],
    removedProcesses: [],
    audit: [{ type: "admin.list", peer: "p", sessions: 1 }],
  });

  t.listing = [session("s1", [process("a", 42)])];
  t.feed.tick();
  assert.deepEqual(t.socket.take()[0].removedProcesses, [["s1", "b"]]);

  t.listing = [];
  t.feed.tick();
  const [gone] = t.socket.take();
  assert.deepEqual(gone.removedSessions, ["s1"]);
  assert.deepEqual(gone.removedProcesses, [["s1", "a"]]);
  assert.deepEqual(gone.audit, []);
});

Deno.test("the console feed skips rounds while the socket is backed up, coalescing, and closes a stalled one", () => {
  const t = setup();
  t.feed.tick();
  t.socket.take();
  t.socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  for (let bytes = 1; bytes <= 5; bytes++) {
    t.listing = [session("s1", [process("a", bytes * 10), process("b")])];
    t.advance(100);
    t.feed.tick();
  }
  assert.deepEqual(t.socket.take(), [], "nothing is queued behind a backed-up socket");
  t.socket.bufferedAmount = 0;
  t.advance(100);
  t.feed.tick();
  const sent = t.socket.take();
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].processes, [{ sessionId: "s1", processId: "a", outputBytes: 50 }]);

  t.socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  t.feed.tick();
  t.advance(STALL_MS - 1);
  t.feed.tick();
  assert.equal(t.socket.closed, null);
  t.advance(1);
  t.feed.tick();
  assert.deepEqual(t.socket.closed, [1013, "the console does not keep up; reconnect"]);
  assert.deepEqual(t.socket.take(), []);
});
