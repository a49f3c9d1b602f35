/**
 * The user's login shell, from the passwd database (not `$SHELL`), as `environment/info` reports it.
 *
 * @module
 */

/** `{name, path}` as on the wire; `name` is one of the stable short names. */
export interface ShellInfo {
  name: string;
  path: string;
}

const SHORT_NAMES: Record<string, string> = {
  bash: "bash",
  zsh: "zsh",
  sh: "sh",
  pwsh: "powershell",
  powershell: "powershell",
  "cmd.exe": "cmd",
  cmd: "cmd",
};

/** Maps a shell path to its stable short name (`bash`, `zsh`, `sh`, `powershell`, `cmd`); others are `sh`-like. */
export function shellShortName(path: string): string {
  const base = path.split(/[\\/]/).at(-1)?.toLowerCase() ?? "";
  return SHORT_NAMES[base] ?? SHORT_NAMES[base.replace(/\.exe$/, "")] ?? "sh";
}

/** Finds the login shell of `uid` in passwd-format text. */
export function findPasswdShell(passwd: string, uid: number): string | null {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 7 && Number(fields[2]) === uid && fields[6].trim() !== "") return fields[6].trim();
  }
  return null;
}

let cached: ShellInfo | null = null;

/** The current user's login shell: /etc/passwd, then `getent passwd` (LDAP etc.), then `$SHELL`, then /bin/sh. */
export function loginShell(): ShellInfo {
  if (cached) return cached;
  const uid = Deno.uid();
  let path: string | null = null;
  if (uid !== null) {
    try {
      path = findPasswdShell(Deno.readTextFileSync("/etc/passwd"), uid);
    } catch {
      // No readable passwd file.
    }
    if (!path) {
      try {
        const out = new Deno.Command("getent", { args: ["passwd", String(uid)], stderr: "null" })
          .outputSync();
        path = findPasswdShell(new TextDecoder().decode(out.stdout), uid);
      } catch {
        // No getent.
      }
    }
  }
  path ??= Deno.env.get("SHELL") ?? "/bin/sh";
  cached = { name: shellShortName(path), path };
  return cached;
}
