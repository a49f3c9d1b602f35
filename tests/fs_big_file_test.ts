/**
 * A 1 GiB file round-trips through ranged fs/writeFile and fs/readFile in 8 MiB pieces while the
 * process's RSS stays under 200 MB.
 *
 * The round trip runs in a child `deno run` of this same file (the way the server runs), not inside the
 * `deno test` runtime: under `deno test` V8 keeps garbage far longer (a bare loop base64-encoding one
 * 8 MiB buffer 128 times peaks near 530 MB there, against about 220 MB under `deno run`), which would
 * measure the test runner rather than our code. The child caps V8's old space (64 MB) so GC runs promptly; any
 * retained string would make it run out of memory, and retained buffers show up in RSS.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createFsHandlers } from "../src/server/fs_handlers.ts";
import { base64Error, encodeBase64 } from "../src/util/base64.ts";
import { withTempDir } from "./fs_test_util.ts";

const GiB = 1024 * 1024 * 1024;
const PIECE = 8 * 1024 * 1024;
const RSS_LIMIT = 200 * 1000 * 1000;

/** Deterministic, incompressible piece `index` (an xorshift stream seeded per piece). */
function piece(index: number, buffer: Uint8Array): Uint8Array {
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  let x = ((index + 1) * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return buffer;
}

/** The round trip itself; prints a JSON summary. */
async function roundTrip(path: string): Promise<void> {
  const fs = createFsHandlers();
  const written = createHash("sha256");
  const read = createHash("sha256");
  const buffer = new Uint8Array(PIECE);
  let peak = Deno.memoryUsage().rss;
  const sample = () => (peak = Math.max(peak, Deno.memoryUsage().rss));

  await fs["fs/writeFile"]({ path, dataBase64: "" });
  for (let i = 0; i < GiB / PIECE; i++) {
    const data = piece(i, buffer);
    written.update(data);
    await fs["fs/writeFile"]({ path, dataBase64: encodeBase64(data), offset: i * PIECE });
    sample();
  }
  let offset = 0;
  let size = -1;
  for (;;) {
    const result = await fs["fs/readFile"]({ path, offset, length: PIECE });
    // Decode into the reused buffer: the test's own garbage must not dominate what is measured.
    assert.equal(base64Error(result.dataBase64), null);
    const { written: n } = (buffer as unknown as { setFromBase64(s: string): { written: number } })
      .setFromBase64(
        result.dataBase64,
      );
    const data = buffer.subarray(0, n);
    read.update(data);
    offset += data.length;
    size = result.size!;
    sample();
    if (result.eof) break;
  }
  console.log(
    JSON.stringify({
      size,
      bytesRead: offset,
      written: written.digest("hex"),
      read: read.digest("hex"),
      peak,
    }),
  );
}

if (import.meta.main) {
  await roundTrip(Deno.args[0]);
} else {
  Deno.test("fs/readFile and fs/writeFile round-trip 1 GiB in 8 MiB ranges with RSS under 200 MB", async () => {
    await withTempDir(async (dir) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--max-old-space-size=64",
          new URL(import.meta.url).pathname,
          `${dir}/big.bin`,
        ],
        stderr: "inherit",
      }).output();
      assert.ok(output.success, "round trip process failed");
      const summary = JSON.parse(new TextDecoder().decode(output.stdout));
      assert.equal(summary.size, GiB);
      assert.equal(summary.bytesRead, GiB);
      assert.equal(summary.read, summary.written);
      assert.ok(summary.peak < RSS_LIMIT, `peak RSS ${(summary.peak / 1e6).toFixed(1)} MB`);
      console.log(`peak RSS ${(summary.peak / 1e6).toFixed(1)} MB`);
    });
  });
}
