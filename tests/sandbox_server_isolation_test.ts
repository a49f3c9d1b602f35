/**
 * A process the server sandboxed can never drive that server: its secret files (the `--ws-token-file`,
 * the `--ws-shared-secret-file`, the TLS key) are masked inside every sandbox, and a WebSocket connection held by a sandboxed process
 * is refused with 403 (and a log line), with or without the token. Unsandboxed clients, including
 * unsandboxed processes the server started, still connect while sandboxed processes run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FsReadFile } from "../src/protocol/methods.ts";
import { decodeBase64 } from "../src/util/base64.ts";
import {
  connectClient,
  managedSandbox,
  NO_BWRAP,
  pathEntry,
  rootEntry,
  runSandboxed,
  shSandboxed,
  withSandboxServer,
} from "./support/sandbox_server.ts";
import { withTempDir } from "./fs_test_util.ts";
import { signJwt } from "./support/ws_upgrade.ts";

const TOKEN = "exec-server-test-token-9f2c1d";
const ESCAPE_CLIENT = new URL("./fixtures/sandbox_escape_client.ts", import.meta.url).pathname;

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A throwaway CA and a 127.0.0.1 server certificate it signs (rustls refuses a self-signed leaf). */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  // deno-fmt-ignore
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
    "-days", "1", "-subj", "/CN=exec-server test CA"], dir);
  // deno-fmt-ignore
  await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
    "-subj", "/CN=localhost"], dir);
  await Deno.writeTextFile(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  // deno-fmt-ignore
  await openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf"], dir);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

/** Everything readable, `ws` writable, network on: the profile an agent's shell typically runs under. */
const networkSandbox = (ws: string) =>
  managedSandbox([rootEntry("read"), pathEntry(ws, "write")], { network: true });

/** The escape client run under `sandbox` (or unsandboxed with `sandbox` null). */
function runEscape(
  client: Parameters<typeof runSandboxed>[0],
  url: string,
  marker: string,
  sandbox: unknown,
  tokenEnv?: Record<string, string>,
  mode?: "queue-and-close",
) {
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--no-lock",
    "--no-config",
    ESCAPE_CLIENT,
    url,
    marker,
  ];
  if (tokenEnv) argv.push(Object.keys(tokenEnv)[0]);
  return runSandboxed(client, argv, sandbox, {
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...(mode ? { ESCAPE_MODE: mode } : {}), ...tokenEnv },
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "sandbox/server-isolation a sandboxed process cannot read the --ws-shared-secret-file",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const secret = `${TOKEN}-shared-secret-0123456789`;
      const secretFile = join(dir, "jwt-secret");
      await Deno.writeTextFile(secretFile, `${secret}\n`);
      const jwt = await signJwt(secret, { alg: "HS256" }, { exp: Math.floor(Date.now() / 1000) + 600 });
      const args = ["--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", secretFile];
      await withSandboxServer(args, async ({ client }) => {
        const ran = await shSandboxed(
          client,
          `cat '${secretFile}' || echo REFUSED`,
          managedSandbox([rootEntry("read")]),
        );
        assert.doesNotMatch(ran.output, new RegExp(secret), ran.output);
        assert.match(ran.output, /Permission denied[\s\S]*REFUSED/, ran.output);
      }, { headers: { Authorization: `Bearer ${jwt}` } });
    }),
});

Deno.test({
  name:
    "sandbox/server-isolation a sandboxed process with network enabled cannot read the token file or TLS key",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      const tokenFile = join(dir, "token");
      await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
      await Deno.chmod(tokenFile, 0o600);
      // Reached through a symlink too: the mask is on the file itself.
      await Deno.symlink(tokenFile, join(ws, "token-link"));
      const tls = await makeCertificates(dir);
      const key = await Deno.readTextFile(tls.key);
      const args = ["--ws-auth", "capability-token", "--ws-token-file", tokenFile];
      args.push("--tls-cert", tls.cert, "--tls-key", tls.key);
      await withSandboxServer(args, async ({ client }) => {
        for (const sandbox of [networkSandbox(ws), managedSandbox([rootEntry("read")])]) {
          const ran = await shSandboxed(
            client,
            `for f in '${tokenFile}' '${ws}/token-link' '${tls.key}'; do cat "$f" || echo "REFUSED $f"; done`,
            sandbox,
          );
          assert.doesNotMatch(ran.output, new RegExp(TOKEN), ran.output);
          assert.doesNotMatch(ran.output, /PRIVATE KEY/, ran.output);
          // Each is /dev/null on a nodev mount, as a denied file is: opening it is refused.
          assert.equal(ran.output.match(/REFUSED/g)?.length, 3, ran.output);
          assert.match(ran.output, /Permission denied/, ran.output);
          // The certificate is public and stays readable.
          const cert = await shSandboxed(client, `cat '${tls.cert}'`, sandbox);
          assert.match(cert.output, /BEGIN CERTIFICATE/);
          // The fs helper runs in the same kind of sandbox: it sees the masks too.
          for (const path of [tokenFile, tls.key]) {
            await assert.rejects(
              client.request(FsReadFile, { path, sandbox: sandbox as never }),
              /Permission denied \(os error 13\)/,
              `fs/readFile ${path} under a sandbox`,
            );
          }
        }
        // Unsandboxed, the files are what they are (the mask is a sandbox mount, not a change on disk).
        const direct = await client.request(FsReadFile, { path: tls.key });
        assert.equal(new TextDecoder().decode(decodeBase64(direct.dataBase64)), key);
      }, {
        headers: { Authorization: `Bearer ${TOKEN}` },
        caCertificates: [await Deno.readTextFile(tls.ca)],
      });
    }),
});

Deno.test({
  name:
    "sandbox/server-isolation a sandboxed process cannot start an unsandboxed command through the server (no auth)",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      const marker = join(dir, "escaped");
      await withSandboxServer([], async ({ server, url, client }) => {
        const ran = await runEscape(client, url, marker, networkSandbox(ws));
        assert.equal(await exists(marker), false, `the sandbox escaped through the server: ${ran.output}`);
        assert.match(ran.output, /STATUS 403/, ran.output);
        assert.match(ran.output, /WS-ERROR/, ran.output);
        assert.doesNotMatch(ran.output, /CONNECTED|STARTED/, ran.output);
        assert.match(server.stderr(), /refused connection from 127\.0\.0\.1:\d+: .*sandboxed process/);
      });
    }),
});

Deno.test({
  name: "sandbox/server-isolation a sandboxed process holding the token still cannot drive the server",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      const tokenFile = join(dir, "token");
      await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
      const marker = join(dir, "escaped");
      const args = ["--ws-auth", "capability-token", "--ws-token-file", tokenFile];
      await withSandboxServer(args, async ({ url, client }) => {
        // Assume the token leaked into the sandbox some other way (here: its environment).
        const ran = await runEscape(client, url, marker, networkSandbox(ws), { LEAKED_TOKEN: TOKEN });
        assert.equal(await exists(marker), false, `the sandbox escaped through the server: ${ran.output}`);
        assert.match(ran.output, /STATUS 403/, `refused as sandboxed, not as unauthenticated: ${ran.output}`);
        assert.doesNotMatch(ran.output, /CONNECTED|STARTED/, ran.output);
      }, { headers: { Authorization: `Bearer ${TOKEN}` } });
    }),
});

Deno.test({
  name: "sandbox/server-isolation a sandboxed process that queues its requests and closes its end is refused",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      const marker = join(dir, "escaped");
      await withSandboxServer([], async ({ server, url, client }) => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const ran = await runEscape(client, url, marker, networkSandbox(ws), undefined, "queue-and-close");
          assert.match(ran.output, /QUEUED/, ran.output);
        }
        // Give a queued process/start every chance to run.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(await exists(marker), false, "a queued session ran after its sender closed");
        assert.match(server.stderr(), /refused connection from 127\.0\.0\.1:\d+/);
      });
    }),
});

Deno.test({
  name: "sandbox/server-isolation unsandboxed clients still connect while a sandboxed process runs",
  ignore: NO_BWRAP,
  fn: () =>
    withTempDir(async (dir) => {
      const ws = join(dir, "ws");
      await Deno.mkdir(ws);
      const marker = join(dir, "from-unsandboxed");
      const sandboxedMarker = join(dir, "from-sandboxed");
      await withSandboxServer([], async ({ url, client }) => {
        // A long-running sandboxed process with network (the refusal check is armed while it lives).
        const sleeper = await client.startProcess({
          argv: ["/bin/sleep", "30"],
          cwd: ws,
          env: { PATH: "/usr/bin:/bin" },
          sandbox: networkSandbox(ws) as never,
        });
        try {
          // A second client from the test process.
          const other = await connectClient(url);
          try {
            const ran = await other.run(["/bin/echo", "still-connects"], { envPolicy: null });
            assert.equal(new TextDecoder().decode(ran.stdout), "still-connects\n");
          } finally {
            await other.close();
          }
          // An unsandboxed process the server started may drive it (nesting is not an escape)...
          const nested = await runEscape(client, url, marker, null);
          assert.match(nested.output, /STATUS 101/, nested.output);
          assert.match(nested.output, /STARTED/, nested.output);
          assert.equal(await exists(marker), true, nested.output);
          // ...while a sandboxed one, at the same time, may not.
          const escaped = await runEscape(client, url, sandboxedMarker, networkSandbox(ws));
          assert.match(escaped.output, /STATUS 403/, escaped.output);
          assert.equal(await exists(sandboxedMarker), false, escaped.output);
        } finally {
          await sleeper.terminate();
          sleeper.events.cancel().catch(() => {});
        }
      });
    }),
});
