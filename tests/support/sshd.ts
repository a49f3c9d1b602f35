/**
 * A throwaway OpenSSH server for tests: `/usr/sbin/sshd -D -e -f <generated config>` on a free
 * 127.0.0.1 port, with its own host key and a user key (ssh-keygen), public-key login for the current
 * user only. If sshd cannot start, {@link startSshd} throws with the reason (tests must fail, not skip).
 *
 * @module
 */

/** A running sshd and how to reach it. */
export interface Sshd {
  port: number;
  /** The login user (the current user). */
  user: string;
  /** Private key that the server accepts. */
  identityFile: string;
  /** `ssh` arguments up to (not including) the remote command. */
  sshArgs: string[];
  /** Collected sshd stderr (its log). */
  log(): string;
  close(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";
const READY_TIMEOUT_MS = 15_000;

async function run(program: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`${program} ${args.join(" ")} failed (${code}): ${new TextDecoder().decode(stderr)}`);
  }
  return text.trim();
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Starts sshd; throws with the reason when it cannot. */
export async function startSshd(): Promise<Sshd> {
  try {
    await Deno.stat(SSHD);
  } catch {
    throw new Error(`${SSHD} not found: install openssh-server (apt-get install -y openssh-server)`);
  }
  const user = await run("id", ["-un"]);
  const dir = await Deno.makeTempDir({ prefix: "sshd-" });
  const hostKey = `${dir}/host_ed25519`;
  const identityFile = `${dir}/id_ed25519`;
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", identityFile]);
  await Deno.copyFile(`${identityFile}.pub`, `${dir}/authorized_keys`);
  if (Deno.uid() === 0) {
    // sshd's privilege separation directory (normally created by the service unit).
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  }
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const ready = Promise.withResolvers<void>();
  const pump = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      log += text;
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) ready.resolve();
    }
  })();
  const exited = child.status.then((status) => {
    ready.reject(new Error(`sshd exited with ${status.code} before listening:\n${log}`));
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await pump.catch(() => {});
    await exited;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Promise.race([
      ready.promise,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`sshd did not listen within ${READY_TIMEOUT_MS} ms:\n${log}`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    port,
    user,
    identityFile,
    sshArgs: [
      "-i",
      identityFile,
      "-p",
      String(port),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      `${user}@127.0.0.1`,
    ],
    log: () => log,
    close,
  };
}
