/**
 * The web console at `/console`, driven in headless Chromium (Debian's, through playwright-core) against a
 * real server subprocess: a wrong token is refused, the login sets an HttpOnly SameSite=Strict cookie, a
 * process started through the client is listed, its output appears live, the Terminate button (after its
 * confirmation) ends it on the client's side, and a page from another origin can drive neither the console's
 * WebSocket nor the admin endpoints. A screenshot is kept in tests/.artifacts/console.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { ExecServerClient } from "../src/client/exec_server_client.ts";
import type { ProcessHandle } from "../src/client/process_handle.ts";
import { CONSOLE_CSP } from "../src/server/console_http.ts";
import { adminTokenDir, consumeEvents, launchChromium } from "./support/console_fixture.ts";
import { requires } from "./support/requirements.ts";
import { startWebSocketServer } from "./support/servers.ts";
import { TEST_PATH } from "./support/process_start.ts";
import { withTimeout } from "./support/waiting.ts";

const ARTIFACTS = new URL("./.artifacts/", import.meta.url).pathname;

/** Waits until element `id` of `page` contains `text`. */
async function textIn(page: Page, id: string, text: string): Promise<void> {
  // A locator, not a string predicate: the console's CSP forbids eval, and so string predicates.
  await page.locator(`#${id}`, { hasText: text }).waitFor({ state: "attached" });
}

async function start(
  client: ExecServerClient,
  processId: string,
  script: string,
  tty: { rows: number; cols: number } | null = null,
): Promise<ProcessHandle> {
  const handle = await client.startProcess({
    processId,
    argv: ["bash", "-c", script],
    cwd: "/tmp",
    env: { PATH: TEST_PATH, TERM: "xterm-256color" },
    tty: tty !== null,
    pipeStdin: tty === null,
    ...tty,
  });
  consumeEvents(handle);
  return handle;
}

Deno.test({
  name: "the console logs in with the admin token, lists a process, shows its output live and terminates it",
  ...requires("chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { dir, adminToken, adminTokenFile } = await adminTokenDir("exec-server-console-");
    const agentToken = `agent-${crypto.randomUUID()}`;
    await Deno.writeTextFile(join(dir, "agent"), `${agentToken}\n`);
    const server = await startWebSocketServer([
      "--ws-auth",
      "capability-token",
      "--ws-token-file",
      join(dir, "agent"),
      "--admin-token-file",
      adminTokenFile,
      "--log-format",
      "json",
    ], { EXEC_SERVER_LOG: "info" });
    const base = server.url!.replace(/^ws:/, "http:");
    const client = await ExecServerClient.connect(
      { kind: "websocket", url: server.url!, headers: { authorization: `Bearer ${agentToken}` } },
      { clientName: "console-test-agent" },
    );
    const browser = await launchChromium();
    try {
      const web = await start(
        client,
        "web1",
        'echo hello-console; echo warn-line >&2; while read l; do echo "live:$l"; done',
      );
      const context = await browser.newContext();
      const page = await context.newPage();
      const external: string[] = [];
      page.on("request", (request) => {
        if (!request.url().startsWith(base)) external.push(request.url());
      });

      const first = await page.goto(`${base}/console`);
      assert.equal(first?.status(), 200);
      assert.equal(first?.headers()["content-security-policy"], CONSOLE_CSP);
      await page.fill("#token", "not-the-token");
      await page.click("#login");
      await page.waitForSelector("#login-error");
      assert.deepEqual(await context.cookies(), []);
      // The agent's token is not the admin token either.
      await page.fill("#token", agentToken);
      await page.click("#login");
      await page.waitForSelector("#login-error");
      assert.deepEqual(await context.cookies(), []);

      await page.fill("#token", adminToken);
      await page.click("#login");
      await page.waitForSelector('tr.process[data-process-id="web1"][data-state="running"]');
      const [cookie] = await context.cookies();
      assert.deepEqual([cookie.httpOnly, cookie.sameSite, cookie.path], [true, "Strict", "/"]);
      assert.ok(!cookie.value.includes(adminToken));
      assert.match(await page.textContent("#sessions") ?? "", /console-test-agent/);

      await page.click('tr.process[data-process-id="web1"]');
      await textIn(page, "output", "hello-console");
      assert.equal(await page.textContent("#output .stderr"), "warn-line\n");
      await web.write("typed-later\n");
      await textIn(page, "output", "live:typed-later");
      await textIn(page, "audit", "admin.login");

      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        dialog.accept();
      });
      await page.click('tr.process[data-process-id="web1"] button.terminate');
      const outcome = await withTimeout(web.wait(), 10_000, "the client to see the process end");
      assert.equal(outcome.exitCode, 143);
      assert.deepEqual(dialogs, ["Terminate process web1?"]);
      await page.waitForSelector('tr.process[data-process-id="web1"][data-state="closed"]');
      await textIn(page, "output", "[closed, exit code 143]");

      // A tty process is rendered by xterm.js: colours (the 16-colour palette, and 24-bit colour mapped
      // to the 256-colour one), a cursor move and an erased line, and input typed by the agent later.
      const tty = await start(
        client,
        "tty1",
        String.raw`printf '\033[31mred-word\033[0m \033[38;2;255;0;0mtrue-red\033[0m plain\n'; ` +
          String.raw`printf 'abcdef\r\033[2Cxy\n'; printf 'erased\033[2K\rkept\n'; ` +
          'while read l; do echo "tty:$l"; done',
        { rows: 20, cols: 90 },
      );
      await page.click('tr.process[data-process-id="tty1"]');
      await page.locator("#output-title", { hasText: "(terminal)" }).waitFor();
      const rows = page.locator("#terminal .xterm-rows");
      await rows.filter({ hasText: "abxyef" }).waitFor();
      const screen = await rows.textContent() ?? "";
      assert.ok(screen.includes("kept") && !screen.includes("erased"), screen);
      const colourOf = (text: string) =>
        page.locator("#terminal .xterm-rows span", { hasText: text }).first().evaluate((span) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(
            span,
          )
            .color
        );
      assert.equal(await colourOf("red-word"), "rgb(255, 123, 114)"); // the console's ANSI red, #ff7b72
      assert.equal(await colourOf("true-red"), "rgb(255, 0, 0)"); // 24-bit #ff0000 is palette colour 196
      assert.equal(await colourOf("plain"), "rgb(230, 237, 243)"); // the console's foreground
      // Drawn at the process's terminal size, and resized with it.
      const lines = page.locator("#terminal .xterm-rows > div");
      assert.equal(await lines.count(), 20);
      await tty.resize(16, 90);
      await page.locator("#terminal .xterm-rows > div").nth(16).waitFor({ state: "detached" });
      assert.equal(await lines.count(), 16);
      await tty.write("typed-in-tty\n");
      await rows.filter({ hasText: "tty:typed-in-tty" }).waitFor();
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "console.png"), fullPage: true });
      await tty.terminate();
      assert.deepEqual(external, [], "the console made requests to other hosts");
      // Opened again by address (a navigation from no page), the login still holds; Log out ends it.
      const again = await context.newPage();
      await again.goto(`${base}/console`);
      await again.waitForSelector('tr.process[data-process-id="web1"]');
      await again.click("#logout");
      await again.waitForSelector("#token");
      assert.deepEqual(await context.cookies(), []);
      const afterLogout = await again.goto(`${base}/console`);
      assert.equal(afterLogout?.status(), 200);
      await again.waitForSelector("#token");
      await context.close();
    } finally {
      await browser.close();
      await client.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
    const lines = server.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.event === "admin.login").length, 1);
    assert.equal(
      lines.filter((l) => l.event === "admin.refused" && l.reason === "invalid admin token").length,
      2,
    );
    assert.ok(lines.some((l) => l.event === "admin.terminate" && l.processId === "web1" && l.found === true));
    assert.ok(!server.stderr().includes(adminToken));
  },
});

Deno.test({
  name: "a page from another origin can drive neither the console's WebSocket nor the admin endpoints",
  ...requires("chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { dir, adminToken, adminTokenFile } = await adminTokenDir("exec-server-console-");
    const server = await startWebSocketServer(["--admin-token-file", adminTokenFile]);
    const base = server.url!.replace(/^ws:/, "http:");
    const client = await ExecServerClient.connect({ kind: "websocket", url: server.url! });
    const session = await fetch(`${base}/admin/sessions`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const sessionId = (await session.json()).sessions[0].sessionId;
    // Another origin on the same host (same-site for cookies: only the Origin check stands in its way).
    const evil = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
      new Response(
        `<!doctype html><script>
        const socket = new WebSocket(${JSON.stringify(`${server.url}/console/events`)});
        socket.onmessage = () => { document.title = "message"; };
        socket.onclose = () => { document.title = document.title === "message" ? "message" : "closed"; };
        fetch(${JSON.stringify(`${base}/admin/processes/${sessionId}/target/terminate`)},
          { method: "POST", mode: "no-cors", credentials: "include" })
          .finally(() => { document.body.dataset.posted = "yes"; });
        </script><body></body>`,
        { headers: { "content-type": "text/html" } },
      ));
    const browser = await launchChromium();
    try {
      const target = await start(client, "target", "exec sleep 60");
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/console`);
      await page.fill("#token", adminToken);
      await page.click("#login");
      await page.waitForSelector('tr.process[data-process-id="target"]');

      const attacker = await context.newPage();
      await attacker.goto(`http://127.0.0.1:${evil.addr.port}/`);
      await attacker.waitForFunction('document.title === "closed" || document.title === "message"');
      assert.equal(await attacker.title(), "closed");
      await attacker.waitForSelector("body[data-posted=yes]", { state: "attached" });
      const listing = await fetch(`${base}/admin/sessions`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const processes = (await listing.json()).sessions[0].processes;
      assert.equal(processes.find((p: { processId: string }) => p.processId === "target").state, "running");
      await target.terminate();
      await context.close();
    } finally {
      await browser.close();
      await client.close();
      await evil.shutdown();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
