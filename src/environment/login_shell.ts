/**
 * The user's login shell, from the passwd database (not `$SHELL`), as `environment/info` reports it.
 *
 * @module
 */
import { currentUserPasswdField, PASSWD_SHELL } from "../util/passwd.ts";

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

let cached: ShellInfo | null = null;

/** The current user's login shell: /etc/passwd, then `getent passwd` (LDAP etc.), then `$SHELL`, then /bin/sh. */
export function loginShell(): ShellInfo {
  if (cached) return cached;
  const path = currentUserPasswdField(PASSWD_SHELL) ?? Deno.env.get("SHELL") ?? "/bin/sh";
  cached = { name: shellShortName(path), path };
  return cached;
}
