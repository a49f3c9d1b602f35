/** What the console's browser tests share: the headless Chromium, a scratch admin token, an agent's reader. */
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import type { ProcessHandle } from "../../src/client/process_handle.ts";

/** Debian's Chromium, headless, with no network of its own (see the machine notes). */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A scratch directory holding a fresh admin token in `admin` (for `--admin-token-file`). */
export async function adminTokenDir(
  prefix: string,
): Promise<{ dir: string; adminToken: string; adminTokenFile: string }> {
  const dir = await Deno.makeTempDir({ prefix });
  const adminToken = `admin-${crypto.randomUUID()}`;
  const adminTokenFile = join(dir, "admin");
  await Deno.writeTextFile(adminTokenFile, `${adminToken}\n`);
  return { dir, adminToken, adminTokenFile };
}

/** Reads `handle`'s events to the end in the background, as an agent would. */
export function consumeEvents(handle: ProcessHandle): void {
  (async () => {
    for await (const _ of handle.events) { /* consumed */ }
  })();
}
