/**
 * The `http/request` host allow-list.
 *
 * Matching rules (checked for the first URL and again for every redirect hop):
 * - An entry is a host name, an IPv4 address, or an IPv6 address (bare `::1` or bracketed `[::1]`),
 *   optionally followed by `:port` (IPv6 with a port must be bracketed: `[::1]:8080`).
 * - Host names compare case-insensitively and exactly: no wildcards, no subdomain matching, and a trailing
 *   dot is ignored (`Example.com.` matches `example.com`).
 * - Entries and URLs are both normalised by the WHATWG URL parser, so `127.1`, `0x7f.0.0.1` and
 *   `127.0.0.1` are the same host, and IPv6 spellings compare in canonical form.
 * - An entry without a port matches any port; with a port it matches only that effective port
 *   (80 for `http:` and 443 for `https:` when the URL has none).
 * - Matching is by name: what a name resolves to is not checked (a DNS answer pointing elsewhere is allowed).
 *
 * @module
 */

interface AllowEntry {
  host: string;
  port: number | null;
}

/** A compiled allow-list: answers whether a URL's host may be contacted. */
export type HostPolicy = (url: URL) => boolean;

/** Normalises a host the way URLs are normalised; `null` when the entry is not a valid host[:port]. */
function parseEntry(entry: string): AllowEntry | null {
  let text = entry.trim();
  // A bare IPv6 address has several colons and no brackets; bracket it so the URL parser accepts it.
  if (!text.startsWith("[") && (text.match(/:/g)?.length ?? 0) > 1) text = `[${text}]`;
  let url: URL;
  try {
    url = new URL(`http://${text}`);
  } catch {
    return null;
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) return null;
  const explicitPort = /:\d+$/.test(text);
  return { host: stripTrailingDot(url.hostname), port: explicitPort ? Number(url.port || 80) : null };
}

function stripTrailingDot(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

/** The effective port of an http(s) URL. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

/**
 * Compiles `allowHosts` into a {@link HostPolicy}. `null`/`undefined` allows everything; entries that do not
 * parse throw a `TypeError` naming them (a configuration error should fail at startup, not at request time).
 */
export function compileAllowHosts(allowHosts: readonly string[] | null | undefined): HostPolicy {
  if (allowHosts === null || allowHosts === undefined) return () => true;
  const entries = allowHosts.map((raw) => {
    const entry = parseEntry(raw);
    if (!entry) throw new TypeError(`invalid http allow-list entry: ${JSON.stringify(raw)}`);
    return entry;
  });
  return (url) => {
    const host = stripTrailingDot(url.hostname);
    const port = effectivePort(url);
    return entries.some((e) => e.host === host && (e.port === null || e.port === port));
  };
}
