/**
 * Raw WebSocket upgrade requests (to read a refusal's status, content type and body, which a
 * `WebSocket` hides) and HS256 JWTs signed with WebCrypto, for the authentication tests.
 *
 * @module
 */

/** What the server answered to an upgrade request. */
export interface UpgradeAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Sends `GET <path>` with WebSocket upgrade headers plus `headers` to a `ws://127.0.0.1:PORT` server and
 * returns its answer (for 101, no body). The socket is closed afterwards.
 */
export async function upgradeRequest(
  url: string,
  headers: Record<string, string> = {},
  path = "/",
): Promise<UpgradeAnswer> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "",
      "",
    ];
    await conn.write(encoder.encode(lines.join("\r\n")));
    let received = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    // Bounded: an answer here is a status line, a few headers and a short body.
    for (let reads = 0; reads < 256; reads++) {
      const answer = parseAnswer(received);
      if (answer !== null) return answer;
      const n = await conn.read(chunk);
      if (n === null) break;
      const next = new Uint8Array(received.length + n);
      next.set(received);
      next.set(chunk.subarray(0, n), received.length);
      received = next;
    }
    throw new Error(`incomplete HTTP answer: ${JSON.stringify(decoder.decode(received))}`);
  } finally {
    conn.close();
  }
}

function parseAnswer(bytes: Uint8Array): UpgradeAnswer | null {
  const text = decoder.decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  if (status === 101) return { status, contentType: null, body: "" };
  const length = Number(headers.get("content-length") ?? "0");
  const body = bytes.subarray(encoder.encode(text.slice(0, end + 4)).length);
  if (body.length < length) return null;
  return {
    status,
    contentType: headers.get("content-type") ?? null,
    body: decoder.decode(body.subarray(0, length)),
  };
}

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * A compact JWS signed with HMAC-SHA-256 under `secret`. `header` and `claims` are JSON-encoded, or used
 * as they are when given as text (for literals such as `1e3` or repeated names).
 */
export async function signJwt(secret: string, header: unknown, claims: unknown): Promise<string> {
  const json = (value: unknown) => typeof value === "string" ? value : JSON.stringify(value);
  const input = `${base64url(encoder.encode(json(header)))}.${base64url(encoder.encode(json(claims)))}`;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input)));
  return `${input}.${base64url(signature)}`;
}

/** An unsigned token (`alg: none`, empty signature). */
export function unsignedJwt(claims: unknown): string {
  const part = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)));
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}
