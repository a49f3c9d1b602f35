/**
 * The current user's passwd entry: /etc/passwd, then `getent passwd` (LDAP and other NSS sources).
 *
 * @module
 */

/** Fields of a passwd line that callers ask for. */
export const PASSWD_HOME = 5;
export const PASSWD_SHELL = 6;

/** Field `index` of `uid`'s line in passwd-format text, or null when absent or empty. */
export function findPasswdField(passwd: string, uid: number, index: number): string | null {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 7 && Number(fields[2]) === uid && fields[index].trim() !== "") {
      return fields[index].trim();
    }
  }
  return null;
}

/** Field `index` of this process's user's passwd entry, or null (no uid on this OS, no entry, no getent). */
export function currentUserPasswdField(index: number): string | null {
  const uid = Deno.uid();
  if (uid === null) return null;
  try {
    const found = findPasswdField(Deno.readTextFileSync("/etc/passwd"), uid, index);
    if (found) return found;
  } catch {
    // No readable passwd file: ask NSS below.
  }
  try {
    const out = new Deno.Command("getent", { args: ["passwd", String(uid)], stderr: "null" }).outputSync();
    return findPasswdField(new TextDecoder().decode(out.stdout), uid, index);
  } catch {
    return null; // No getent.
  }
}
