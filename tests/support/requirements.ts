/**
 * What some tests need from the machine, as Debian packages. `deno task test` (scripts/run_tests.ts)
 * installs the missing ones when it can (root with apt-get); where it cannot, the tests that need them are
 * skipped, and the closing summary names the packages. Under `CI=true` nothing is skipped: a missing
 * package makes its tests fail.
 *
 * @module
 */

/** A package the suite needs, how to tell it is installed, and what needs it. */
export interface Requirement {
  readonly pkg: string;
  readonly installed: () => boolean;
  readonly for: string;
}

function onPath(command: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return true;
    } catch {
      // Not here.
    }
  }
  return false;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Everything the suite needs beyond Deno itself. */
export const REQUIREMENTS = {
  bubblewrap: { pkg: "bubblewrap", installed: () => onPath("bwrap"), for: "sandbox tests" },
  "openssh-server": { pkg: "openssh-server", installed: () => exists("/usr/sbin/sshd"), for: "ssh tests" },
  "openssh-client": { pkg: "openssh-client", installed: () => onPath("ssh"), for: "ssh tests" },
  openssl: { pkg: "openssl", installed: () => onPath("openssl"), for: "TLS tests" },
  zsh: { pkg: "zsh", installed: () => onPath("zsh"), for: "the zsh completion test" },
  "util-linux": { pkg: "util-linux", installed: () => onPath("unshare"), for: "the offline bundle test" },
  systemd: { pkg: "systemd", installed: () => onPath("systemd-analyze"), for: "the unit file test" },
  chromium: { pkg: "chromium", installed: () => exists("/usr/bin/chromium"), for: "the web console test" },
} as const satisfies Record<string, Requirement>;

export type RequirementName = keyof typeof REQUIREMENTS;

/**
 * `{ ignore }` for `Deno.test`: true when a needed package is missing, except under `CI=true` (there the
 * test runs, and fails).
 */
export function requires(...names: RequirementName[]): { ignore: boolean } {
  if (Deno.env.get("CI") === "true") return { ignore: false };
  return { ignore: names.some((name) => !REQUIREMENTS[name].installed()) };
}
