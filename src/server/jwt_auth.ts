/**
 * `--ws-auth signed-bearer-token`: an HS256 JWT in `Authorization: Bearer`, checked before the upgrade
 * against a shared secret, with Codex 0.171's rules and failure texts (probed on the real server):
 *
 * - any malformed token, a bad signature, an `alg` other than `HS256`, a mistyped header field or claim,
 *   or a missing or non-integer `exp`: `invalid websocket jwt` (checked first);
 * - then `exp` older than now minus the skew: `expired websocket jwt`;
 * - then `nbf` later than now plus the skew: `websocket jwt is not valid yet`;
 * - then, with `--ws-issuer`, an `iss` other than it (or none): `websocket jwt issuer mismatch`;
 * - then, with `--ws-audience`, an `aud` (a string, or an array of strings) without it:
 *   `websocket jwt audience mismatch`.
 *
 * The signature is checked by `crypto.subtle.verify` (constant time); the token is never logged.
 *
 * @module
 */

/** The verifier's configuration, resolved at start. */
export interface SignedBearerAuth {
  kind: "signed-bearer-token";
  /** The HMAC-SHA-256 key made from the shared secret (verify only). */
  key: CryptoKey;
  issuer: string | null;
  audience: string | null;
  maxClockSkewSec: number;
}

/** Why a signed bearer token was refused (the 401 body). */
export type JwtFailure =
  | "invalid websocket jwt"
  | "expired websocket jwt"
  | "websocket jwt is not valid yet"
  | "websocket jwt issuer mismatch"
  | "websocket jwt audience mismatch";

/** The reference's minimum secret length, in bytes (after trimming). */
export const MIN_SECRET_BYTES = 32;

/** A shared secret that cannot be used; the message names the file. */
export class SharedSecretError extends Error {
  override name = "SharedSecretError";
}

/** Reads `--ws-shared-secret-file`: the trimmed contents, at least {@link MIN_SECRET_BYTES} bytes. */
export async function readSharedSecret(path: string): Promise<Uint8Array> {
  let text;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new SharedSecretError(`failed to read websocket auth secret ${path}: ${(error as Error).message}`);
  }
  const secret = new TextEncoder().encode(text.trim());
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SharedSecretError(
      `signed websocket bearer secret ${path} must be at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  return secret;
}

/** Makes the verify-only HMAC key for a shared secret. */
export function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
}

const INVALID: JwtFailure = "invalid websocket jwt";
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Checks a compact JWS; returns null when it is accepted, else the failure. */
export async function verifyJwt(
  auth: SignedBearerAuth,
  token: string,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<JwtFailure | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return INVALID;
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = decodeJsonPart(headerPart);
  const payload = decodeJsonPart(payloadPart);
  const signature = decodeBase64Url(signaturePart);
  if (header === null || payload === null || signature === null || !validHeader(header)) {
    return INVALID;
  }
  const signed = new TextEncoder().encode(`${headerPart}.${payloadPart}`);
  if (!(await crypto.subtle.verify("HMAC", auth.key, signature as Uint8Array<ArrayBuffer>, signed))) {
    return INVALID;
  }
  const claims = readClaims(payload);
  if (claims === null) return INVALID;
  const now = BigInt(nowSec);
  const skew = BigInt(auth.maxClockSkewSec);
  if (claims.exp < now - skew) return "expired websocket jwt";
  if (claims.nbf !== null && claims.nbf > now + skew) return "websocket jwt is not valid yet";
  if (auth.issuer !== null && claims.iss !== auth.issuer) return "websocket jwt issuer mismatch";
  if (auth.audience !== null && !claims.aud.includes(auth.audience)) return "websocket jwt audience mismatch";
  return null;
}

/** Strict unpadded base64url: anything else (padding, `+/`, spare bits set) is refused. */
function decodeBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
    return bytes.toBase64({ alphabet: "base64url", omitPadding: true }) === text ? bytes : null;
  } catch {
    return null;
  }
}

/** A decoded JSON object with the source text of each of its top-level numbers. */
interface JsonObject {
  value: Record<string, unknown>;
  numberSources: Map<string, string>;
  /** Top-level names given more than once (JSON.parse keeps the last; the reference refuses them). */
  duplicates: Set<string>;
}

function decodeJsonPart(part: string): JsonObject | null {
  const bytes = decodeBase64Url(part);
  if (bytes === null) return null;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const seen: { holder: unknown; key: string; source: string }[] = [];
    // The reviver's `source` is the number's literal: `1e3` and `1.0` are not integers to the reference.
    const reviver = function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === "number" && context?.source !== undefined) {
        seen.push({ holder: this, key, source: context.source });
      }
      return value;
    };
    const value = JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    // Only the top level's numbers matter (a nested object may use the same names).
    const numberSources = new Map<string, string>();
    for (const entry of seen) if (entry.holder === value) numberSources.set(entry.key, entry.source);
    const names = new Set<string>();
    const duplicates = new Set<string>();
    for (const name of topLevelNames(text)) (names.has(name) ? duplicates : names).add(name);
    return { value, numberSources, duplicates };
  } catch {
    return null;
  }
}

/** The member names of a JSON object's text, in order, repeats included (the text is valid JSON). */
function topLevelNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (depth === 1 && expectName) names.push(JSON.parse(text.slice(i, end + 1)));
      expectName = false;
      i = end;
    } else if (c === "{" || c === "[") {
      depth++;
      expectName = depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectName = true;
    }
  }
  return names;
}

const STRING_HEADER_FIELDS = ["typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256"];

const HEADER_FIELDS = ["alg", ...STRING_HEADER_FIELDS, "x5c", "jwk"];
const CLAIM_FIELDS = ["exp", "nbf", "iss", "aud"];

function validHeader({ value: header, duplicates }: JsonObject): boolean {
  if (HEADER_FIELDS.some((field) => duplicates.has(field))) return false;
  if (header.alg !== "HS256") return false;
  for (const field of STRING_HEADER_FIELDS) {
    const value = header[field];
    if (value !== undefined && value !== null && typeof value !== "string") return false;
  }
  const x5c = header.x5c;
  if (x5c !== undefined && x5c !== null && !isStringArray(x5c)) return false;
  const jwk = header.jwk;
  if (jwk !== undefined && jwk !== null && (typeof jwk !== "object" || Array.isArray(jwk))) return false;
  return true;
}

interface Claims {
  exp: bigint;
  nbf: bigint | null;
  iss: string | null;
  aud: string[];
}

function readClaims(payload: JsonObject): Claims | null {
  const { value } = payload;
  if (CLAIM_FIELDS.some((field) => payload.duplicates.has(field))) return null;
  const exp = integerClaim(payload, "exp");
  if (exp === null || exp === undefined) return null;
  const nbf = integerClaim(payload, "nbf");
  if (nbf === null) return null;
  const iss = value.iss ?? null;
  if (iss !== null && typeof iss !== "string") return null;
  const aud = value.aud ?? null;
  let audiences: string[];
  if (aud === null) audiences = [];
  else if (typeof aud === "string") audiences = [aud];
  else if (isStringArray(aud)) audiences = aud;
  else return null;
  return { exp, nbf: nbf ?? null, iss, aud: audiences };
}

/** A 64-bit signed integer claim: its value, undefined when absent (or null), null when malformed. */
function integerClaim(payload: JsonObject, name: string): bigint | null | undefined {
  const value = payload.value[name];
  if (value === undefined || value === null) return undefined;
  const source = payload.numberSources.get(name);
  if (typeof value !== "number" || source === undefined || !/^-?\d+$/.test(source)) return null;
  const n = BigInt(source);
  return n < I64_MIN || n > I64_MAX ? null : n;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
