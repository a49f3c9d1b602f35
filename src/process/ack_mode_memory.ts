/** What `ackMode: "auto"` learns about a session's client (see `managed_process.ts`). @module */

/**
 * How a client consumed output so far, shared by the processes of one session. A client that let an
 * `auto` process fill its bound without ever calling `process/read` consumes notifications: later
 * processes count written notifications as acknowledged at once instead of waiting for the decision
 * clock. Any `process/read` (Codex's shell pages with it) switches the memory back to reads.
 */
export class AckModeMemory {
  learned: "notification" | "read" | null = null;
}

/**
 * How long after start `auto` ack mode waits for a first `process/read` before written notifications may
 * free room. A pulling client (Codex's shell) reads within milliseconds of the start response.
 */
export const AUTO_ACK_DECISION_MS = 250;
