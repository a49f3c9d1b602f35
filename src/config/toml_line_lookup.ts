/**
 * Finds the line of a key or an `[[environments]]` entry in the text of a TOML file, for messages.
 *
 * @module
 */

/**
 * Best-effort 1-based line of a top-level key, an `[[environments]]` entry, or a key inside one, for the
 * usual `[[environments]]` layout. Returns undefined (no line shown) for inline-array layouts.
 */
export function locateLine(text: string, at: readonly PropertyKey[]): number | undefined {
  const lines = text.split(/\r?\n/);
  const isHeader = (l: string) => /^\s*\[/.test(l);
  const keyLine = (from: number, key: string): number | undefined => {
    const k = escapeRegExp(key);
    // `key =`, a quoted key, or a dotted key (`env.A = …`); stop at the next table header.
    const pattern = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*[=.]`);
    for (let i = from; i < lines.length && !isHeader(lines[i]); i++) {
      if (pattern.test(lines[i])) return i + 1;
    }
    return undefined;
  };
  if (at.length === 0) return undefined;
  if (at[0] !== "environments" || typeof at[1] !== "number") return keyLine(0, String(at[0]));

  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\[\[\s*(?:environments|"environments"|'environments')\s*\]\]/.test(lines[i])) continue;
    if (++seen !== at[1]) continue;
    if (at.length < 3) return i + 1;
    return keyLine(i + 1, String(at[2])) ?? i + 1;
  }
  return undefined;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
