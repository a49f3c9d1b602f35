/**
 * AWS Signature Version 4 for the direct transport (`--aws-sigv4`, as Codex requires): the registration POST
 * signs `content-type;host;x-amz-date` (plus `x-amz-security-token` with temporary credentials), the
 * rendezvous upgrade signs `host;x-amz-date`. Credentials come from `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else the shared credentials file's profile; the region from
 * `--aws-region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region` in the config file.
 *
 * @module
 */
import { hmac, sha256 } from "./crypto_primitives.ts";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Config {
  credentials: AwsCredentials;
  region: string;
  service: string;
}

const encoder = new TextEncoder();
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, uppercase hex. */
function uriEncode(text: string): string {
  let out = "";
  for (const byte of encoder.encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** `20150830T123600Z`. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * Signs a request: returns the headers to add (`x-amz-date`, `authorization`, and `x-amz-security-token` for
 * temporary credentials). `headers` are the other headers to sign (`host` is always signed).
 */
export function signV4(
  request: { method: string; url: URL; headers?: Record<string, string>; body?: Uint8Array | string },
  config: SigV4Config,
  now = new Date(),
): Record<string, string> {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const signed: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) signed[name.toLowerCase()] = value;
  signed.host = request.url.host;
  signed["x-amz-date"] = date;
  if (config.credentials.sessionToken) signed["x-amz-security-token"] = config.credentials.sessionToken;
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names.map((n) => `${n}:${signed[n].trim().replace(/\s+/g, " ")}\n`).join("");
  const path = request.url.pathname.split("/").map((s) => uriEncode(decodeURIComponent(s))).join("/") || "/";
  const query = [...request.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const body = typeof request.body === "string"
    ? encoder.encode(request.body)
    : request.body ?? new Uint8Array(0);
  const canonicalRequest = [
    request.method.toUpperCase(),
    path,
    query,
    canonicalHeaders,
    names.join(";"),
    hex(sha256(body)),
  ].join("\n");
  const scope = `${day}/${config.region}/${config.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, hex(sha256(encoder.encode(canonicalRequest)))].join(
    "\n",
  );
  let key = hmac(sha256, encoder.encode(`AWS4${config.credentials.secretAccessKey}`), encoder.encode(day));
  for (const part of [config.region, config.service, "aws4_request"]) {
    key = hmac(sha256, key, encoder.encode(part));
  }
  const signature = hex(hmac(sha256, key, encoder.encode(stringToSign)));
  const out: Record<string, string> = {
    "x-amz-date": date,
    authorization: `AWS4-HMAC-SHA256 Credential=${config.credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
  if (config.credentials.sessionToken) out["x-amz-security-token"] = config.credentials.sessionToken;
  return out;
}

/** Parses an INI file (`~/.aws/credentials`, `~/.aws/config`) into sections. */
function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) {
      current = {};
      sections.set(header[1].trim(), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return sections;
}

async function readIni(path: string): Promise<Map<string, Record<string, string>>> {
  try {
    return parseIni(await Deno.readTextFile(path));
  } catch {
    return new Map();
  }
}

/** Resolves credentials and region from the usual places; throws with what is missing. */
export async function resolveSigV4Config(
  options: { profile?: string; region?: string; service: string },
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<SigV4Config> {
  const home = env.HOME ?? "";
  const profile = options.profile ?? env.AWS_PROFILE ?? "default";
  let credentials: AwsCredentials | null = null;
  if (options.profile === undefined && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  }
  const config = await readIni(env.AWS_CONFIG_FILE ?? `${home}/.aws/config`);
  const profileConfig = config.get(profile === "default" ? "default" : `profile ${profile}`) ?? {};
  if (!credentials) {
    const file = await readIni(env.AWS_SHARED_CREDENTIALS_FILE ?? `${home}/.aws/credentials`);
    const section = file.get(profile) ?? {};
    const id = section.aws_access_key_id ?? profileConfig.aws_access_key_id;
    const secret = section.aws_secret_access_key ?? profileConfig.aws_secret_access_key;
    if (id && secret) {
      credentials = {
        accessKeyId: id,
        secretAccessKey: secret,
        sessionToken: section.aws_session_token ?? profileConfig.aws_session_token,
      };
    }
  }
  if (!credentials) {
    throw new Error(
      `no AWS credentials for SigV4: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile \`${profile}\` ` +
        "in the shared credentials file",
    );
  }
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profileConfig.region;
  if (!region) throw new Error("no AWS region for SigV4: pass --aws-region or set AWS_REGION");
  return { credentials, region, service: options.service };
}
