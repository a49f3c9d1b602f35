/**
 * `serve`'s WebSocket authentication flags: `--ws-auth capability-token` (a token file or its SHA-256) and
 * `signed-bearer-token` (an HS256 JWT secret, issuer, audience, skew), checked, then resolved at start.
 *
 * @module
 */
import { joinPath } from "../util/absolute_path.ts";
import { hmacKey, readSharedSecret, SharedSecretError } from "../server/jwt_auth.ts";
import {
  parseSha256Hex,
  timingSafeEqual,
  tokenDigestFromFile,
  type WebSocketAuth,
} from "../server/ws_auth.ts";
import type { AdminAccess } from "../server/admin_http.ts";
import { UsageError } from "./usage_error.ts";

/** Where the WebSocket credential comes from (resolved to a digest or key when serving). */
export type ServeAuthSource =
  | { kind: "none" }
  | { kind: "token-file"; path: string }
  | { kind: "token-sha256"; hex: string }
  | {
    kind: "signed-bearer-token";
    secretFile: string;
    issuer: string | null;
    audience: string | null;
    maxClockSkewSec: number;
  };

/** The auth flags as parsed. */
export type AuthValues = Partial<
  Record<
    | "ws-auth"
    | "ws-token-file"
    | "ws-token-sha256"
    | "ws-shared-secret-file"
    | "ws-issuer"
    | "ws-audience"
    | "ws-max-clock-skew-seconds",
    string
  >
>;

/** The `--ws-auth` flags, checked (usage errors name the flags). */
export function parseAuth(values: AuthValues, usage: string): ServeAuthSource {
  const mode = values["ws-auth"];
  const tokenFile = values["ws-token-file"];
  const tokenSha256 = values["ws-token-sha256"];
  const jwtFlagGiven = values["ws-shared-secret-file"] !== undefined || values["ws-issuer"] !== undefined ||
    values["ws-audience"] !== undefined || values["ws-max-clock-skew-seconds"] !== undefined;
  if (mode === undefined || mode === "none") {
    if (tokenFile !== undefined || tokenSha256 !== undefined || jwtFlagGiven) {
      throw new UsageError(
        "--ws-token-file and --ws-token-sha256 need --ws-auth capability-token; --ws-shared-secret-file, " +
          "--ws-issuer, --ws-audience and --ws-max-clock-skew-seconds need --ws-auth signed-bearer-token",
        usage,
      );
    }
    return { kind: "none" };
  }
  if (mode === "signed-bearer-token") return parseSignedBearer(values, usage);
  if (mode !== "capability-token") {
    throw new UsageError(
      `--ws-auth expects capability-token, signed-bearer-token or none, got \`${mode}\``,
      usage,
    );
  }
  if (jwtFlagGiven) {
    throw new UsageError(
      "--ws-shared-secret-file, --ws-issuer, --ws-audience and --ws-max-clock-skew-seconds need " +
        "--ws-auth signed-bearer-token",
      usage,
    );
  }
  if ((tokenFile === undefined) === (tokenSha256 === undefined)) {
    throw new UsageError(
      "--ws-auth capability-token needs exactly one of --ws-token-file or --ws-token-sha256",
      usage,
    );
  }
  if (tokenSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(tokenSha256)) {
    throw new UsageError("--ws-token-sha256 expects 64 hexadecimal characters", usage);
  }
  return tokenFile !== undefined
    ? { kind: "token-file", path: tokenFile }
    : { kind: "token-sha256", hex: tokenSha256! };
}

function parseSignedBearer(values: AuthValues, usage: string): ServeAuthSource {
  if (values["ws-token-file"] !== undefined || values["ws-token-sha256"] !== undefined) {
    throw new UsageError(
      "--ws-token-file and --ws-token-sha256 need --ws-auth capability-token, not signed-bearer-token",
      usage,
    );
  }
  const secretFile = values["ws-shared-secret-file"];
  if (secretFile === undefined || secretFile === "") {
    throw new UsageError("--ws-auth signed-bearer-token needs --ws-shared-secret-file PATH", usage);
  }
  const skew = values["ws-max-clock-skew-seconds"];
  if (skew !== undefined && !/^\d+$/.test(skew)) {
    throw new UsageError(
      `--ws-max-clock-skew-seconds expects a non-negative whole number of seconds, got \`${skew}\``,
      usage,
    );
  }
  return {
    kind: "signed-bearer-token",
    // The reference resolves a relative path against the working directory; so do we.
    secretFile: secretFile.startsWith("/") ? secretFile : joinPath(Deno.cwd(), secretFile),
    issuer: values["ws-issuer"] ?? null,
    audience: values["ws-audience"] ?? null,
    maxClockSkewSec: skew === undefined ? DEFAULT_MAX_CLOCK_SKEW_SEC : Number(skew),
  };
}

/** `--ws-max-clock-skew-seconds` default, as in the reference. */
const DEFAULT_MAX_CLOCK_SKEW_SEC = 30;

/** Reads what the auth source names (token file, secret) into what the listener checks. */
export async function resolveAuth(auth: ServeAuthSource, usage: string): Promise<WebSocketAuth> {
  switch (auth.kind) {
    case "none":
      return { kind: "none" };
    case "token-file":
      return { kind: "capability-token", sha256: await tokenDigestFromFile(auth.path) };
    case "token-sha256":
      return { kind: "capability-token", sha256: parseSha256Hex(auth.hex) };
    case "signed-bearer-token": {
      let secret;
      try {
        secret = await readSharedSecret(auth.secretFile);
      } catch (error) {
        if (error instanceof SharedSecretError) throw new UsageError(error.message, usage);
        throw error;
      }
      const { issuer, audience, maxClockSkewSec } = auth;
      return { kind: "signed-bearer-token", key: await hmacKey(secret), issuer, audience, maxClockSkewSec };
    }
  }
}

/**
 * The admin surface's access: `--admin-token-file`'s digest; else open on a loopback listener without
 * agent auth; else off. An admin token equal to the agent's token is refused (it would hand the agent admin).
 */
export async function resolveAdminAccess(
  tokenFile: string | null,
  auth: WebSocketAuth,
  loopback: boolean,
): Promise<AdminAccess> {
  if (tokenFile === null) return loopback && auth.kind === "none" ? { kind: "local" } : { kind: "off" };
  const digest = await tokenDigestFromFile(tokenFile);
  if (auth.kind === "capability-token" && timingSafeEqual(digest, auth.sha256)) {
    throw new Error("--admin-token-file holds the same token as --ws-token-file: give the operator its own");
  }
  return { kind: "token", sha256: digest };
}
