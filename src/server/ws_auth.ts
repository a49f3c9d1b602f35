/**
 * WebSocket authentication, checked before the upgrade from `Authorization: Bearer <token>` (the scheme
 * in any case, then one space; never from the query): a capability token, of which only the SHA-256 is
 * kept in memory and digests are compared in constant time, or a signed JWT (`jwt_auth.ts`). Neither
 * the comparison's timing nor a log line reveals the token. Refusals are 401 `text/plain` with Codex
 * 0.171's texts.
 *
 * @module
 */
import { type SignedBearerAuth, verifyJwt } from "./jwt_auth.ts";

/** How the server authenticates WebSocket clients. */
export type WebSocketAuth =
  | { kind: "none" }
  | { kind: "capability-token"; sha256: Uint8Array }
  | SignedBearerAuth;

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

/** The bearer token of a request, or the reason there is none. */
export function bearerToken(request: Request): { token: string } | { failure: string } {
  const header = request.headers.get("authorization");
  if (header === null) return { failure: "missing websocket bearer token" };
  // Visible ASCII only (a header value the reference cannot read as a string is invalid to it).
  if (/[^\x20-\x7e\t]/.test(header)) return { failure: "invalid authorization header" };
  const space = header.indexOf(" ");
  const token = space < 0 ? "" : header.slice(space + 1).trim();
  if (space < 0 || header.slice(0, space).toLowerCase() !== "bearer" || token === "") {
    return { failure: "invalid authorization header" };
  }
  return { token };
}

/**
 * Checks a request's bearer token. Returns null when allowed, or the 401 response to send. The token
 * itself is never logged or echoed.
 */
export async function checkBearer(auth: WebSocketAuth, request: Request): Promise<Response | null> {
  if (auth.kind === "none") return null;
  const bearer = bearerToken(request);
  let failure: string | null;
  if ("failure" in bearer) failure = bearer.failure;
  else if (auth.kind === "signed-bearer-token") failure = await verifyJwt(auth, bearer.token);
  else {
    const matches = timingSafeEqual(await sha256(bearer.token), auth.sha256);
    failure = matches ? null : "invalid websocket bearer token";
  }
  if (failure === null) return null;
  return new Response(failure, {
    status: 401,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "www-authenticate": 'Bearer realm="exec-server"',
    },
  });
}
