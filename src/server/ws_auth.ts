/**
 * WebSocket authentication: a capability token presented as `Authorization: Bearer <token>`, checked
 * before the upgrade. Only the token's SHA-256 is kept in memory, and digests are compared in constant
 * time, so neither the comparison's timing nor a log line reveals the token.
 *
 * @module
 */

/** How the server authenticates WebSocket clients. */
export type WebSocketAuth = { kind: "none" } | { kind: "capability-token"; sha256: Uint8Array };

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i % a.length] ?? 0) ^ (b[i % b.length] ?? 0);
  return diff === 0;
}

/** SHA-256 of a UTF-8 string. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Parses a 64-character hex SHA-256 digest (`--ws-token-sha256`). */
export function parseSha256Hex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("--ws-token-sha256 expects 64 hexadecimal characters");
  return Uint8Array.fromHex(hex.toLowerCase());
}

/** Reads a token file (`--ws-token-file`): the first line, trimmed; an empty token is refused. */
export async function tokenDigestFromFile(path: string): Promise<Uint8Array> {
  const token = (await Deno.readTextFile(path)).split(/\r?\n/)[0].trim();
  if (token === "") throw new Error(`token file ${path} is empty`);
  return sha256(token);
}

/**
 * Checks a request's bearer token. Returns null when allowed, or the 401 response to send. The token
 * itself is never logged or echoed.
 */
export async function checkBearer(auth: WebSocketAuth, request: Request): Promise<Response | null> {
  if (auth.kind === "none") return null;
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (match && timingSafeEqual(await sha256(match[1].trim()), auth.sha256)) return null;
  return new Response(match ? "invalid token" : "missing bearer token", {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="exec-server"' },
  });
}
