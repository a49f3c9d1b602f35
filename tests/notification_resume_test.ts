/**
 * `ackMode: "notification"`: a client that stalls (its link stops carrying data, the kernel buffers
 * between fill up) and then drops, resumes its session and reads from the last seq it got. Output that
 * was written to the socket but never reached the client must still be there: a notification counts as
 * read only once a kernel window's worth of later bytes has left the server (see WebSocketTransport).
 * The 47.7 MB version is in `bench/soak.ts`.
 */
import assert from "node:assert/strict";
import { runNotificationDrop } from "./support/notification_drop.ts";

Deno.test("ackMode notification: a stall then a drop loses nothing; the resumed read replays what was in flight", async () => {
  const result = await runNotificationDrop(24_000_000, 2_000_000);
  assert.equal(result.dropped, 0, "bytes evicted before the client had them");
  assert.equal(result.received, result.total);
});
