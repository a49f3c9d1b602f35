/**
 * `--listen` values: `stdio`, `stdio://`, or `ws://IP:PORT` (an IP literal, as the reference requires;
 * `wss://` when TLS is configured).
 *
 * @module
 */

/** A parsed `--listen` value. */
export type ListenTarget =
  | { kind: "stdio" }
  | { kind: "websocket"; secure: boolean; hostname: string; port: number };

/** Thrown for a `--listen` value we cannot serve; the CLI prints it as a usage error. */
export class ListenUrlError extends Error {
  override name = "ListenUrlError";
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses `--listen`. */
export function parseListenUrl(value: string): ListenTarget {
  if (value === "stdio" || value === "stdio://") return { kind: "stdio" };
  const match = /^(wss?):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:]+):(\d{1,5})\/?$/.exec(value);
  if (!match) {
    if (/^wss?:\/\//.test(value)) {
      throw new ListenUrlError(`invalid websocket --listen URL \`${value}\`; expected \`ws://IP:PORT\``);
    }
    throw new ListenUrlError(`unsupported --listen URL \`${value}\`; expected \`ws://IP:PORT\` or \`stdio\``);
  }
  const [, scheme, host, portText] = match;
  const port = Number(portText);
  const hostname = host.startsWith("[") ? host.slice(1, -1) : host;
  const isIp = IPV4.test(hostname) || (host.startsWith("[") && hostname.includes(":"));
  if (!isIp || port > 65535) {
    throw new ListenUrlError(`invalid websocket --listen URL \`${value}\`; expected \`ws://IP:PORT\``);
  }
  return { kind: "websocket", secure: scheme === "wss", hostname, port };
}

/** True for loopback addresses (127.0.0.0/8 and ::1). */
export function isLoopback(hostname: string): boolean {
  return /^127\./.test(hostname) || hostname === "::1" || hostname === "0:0:0:0:0:0:0:1";
}

/** Formats a bound address as a URL. */
export function formatListenUrl(secure: boolean, hostname: string, port: number): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${secure ? "wss" : "ws"}://${host}:${port}`;
}
