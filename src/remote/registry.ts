/**
 * The environment registry's HTTP API as the executor and the harness call it (paths under
 * `{base}/cloud/environment/{id}/`), with Codex 0.171's error texts.
 *
 * @module
 */
import { NOISE_SECURITY_PROFILE, type NoisePublicKeyJson } from "./noise_channel.ts";
import { signV4, type SigV4Config } from "./sigv4.ts";

/** How a registry request is authenticated: a bearer, or AWS SigV4 (direct only). */
export type RegistryAuth = string | { sigv4: SigV4Config };

/** A registry answer that is not a success, or that breaks the contract. `status` is 0 for the latter. */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(message: string, readonly status: number) {
    super(message);
  }
  /** 401/403: the bearer was refused. */
  get isAuthentication(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** `{base}/cloud/environment/{id}/{path}` (the base may end in `/`). */
export function registryUrl(base: string, environmentId: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/cloud/environment/${encodeURIComponent(environmentId)}/${path}`;
}

const MAX_ERROR_BODY_CHARS = 1024;

/** Turns a non-2xx answer into Codex's message: `environment registry request failed (500 ...): body`. */
export async function registryError(response: Response): Promise<RegistryError> {
  let text = "";
  try {
    text = (await response.text()).trim();
  } catch {
    // an unreadable body reads as empty
  }
  let detail = text === "" ? "empty error body" : text;
  try {
    const json = JSON.parse(text);
    if (typeof json?.error?.message === "string") detail = json.error.message;
  } catch {
    // not JSON: the text itself
  }
  if (detail.length > MAX_ERROR_BODY_CHARS) detail = "response body omitted";
  const status = `${response.status} ${response.statusText || httpReason(response.status)}`.trim();
  const auth = response.status === 401 || response.status === 403;
  const message = auth
    ? `environment registry authentication error: environment registry authentication failed (${status}): ${detail}`
    : `environment registry request failed (${status}): ${detail}`;
  return new RegistryError(message, response.status);
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
  };
  return reasons[status] ?? "";
}

/** What `/register` hands back. */
export interface Registration {
  /** The rendezvous WebSocket URL. */
  url: string;
  /** `executor_registration_id` (noise) or `registration_id` (direct). */
  registrationId: string;
}

async function post(url: string, auth: RegistryAuth, body: unknown, extra: Record<string, string> = {}) {
  let response: Response;
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (typeof auth === "string") {
    headers.authorization = `Bearer ${auth}`;
  } else {
    const signed = signV4({
      method: "POST",
      url: new URL(url),
      headers: { "content-type": headers["content-type"] },
      body: text,
    }, auth.sigv4);
    Object.assign(headers, signed);
  }
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body: text,
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new RegistryError(`environment registry request failed: error sending request for url (${url})`, 0);
  }
  if (!response.ok) throw await registryError(response);
  try {
    return await response.json() as Record<string, unknown>;
  } catch {
    throw new RegistryError("environment registry returned an invalid JSON response", 0);
  }
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") {
    throw new RegistryError(`environment registry response is missing \`${field}\``, 0);
  }
  return value;
}

function checkRendezvousUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RegistryError(`environment registry returned an invalid rendezvous URL \`${url}\``, 0);
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new RegistryError(`environment registry returned a non-WebSocket rendezvous URL \`${url}\``, 0);
  }
  return url;
}

/** `POST /register` with the executor's Noise public key. */
export async function registerNoise(
  base: string,
  environmentId: string,
  bearer: string,
  executorKey: NoisePublicKeyJson,
): Promise<Registration> {
  const body = await post(registryUrl(base, environmentId, "register"), bearer, {
    security_profile: NOISE_SECURITY_PROFILE,
    executor_public_key: executorKey,
  });
  if (requireString(body, "environment_id") !== environmentId) {
    throw new RegistryError("environment registry returned a different environment_id", 0);
  }
  if (requireString(body, "security_profile") !== NOISE_SECURITY_PROFILE) {
    throw new RegistryError(
      `environment registry returned unsupported security_profile ${body.security_profile}`,
      0,
    );
  }
  return {
    url: checkRendezvousUrl(requireString(body, "url")),
    registrationId: requireString(body, "executor_registration_id"),
  };
}

/** `POST /direct/register` (plain JSON-RPC over the rendezvous socket). */
export async function registerDirect(
  base: string,
  environmentId: string,
  auth: RegistryAuth,
): Promise<Registration> {
  const body = await post(registryUrl(base, environmentId, "direct/register"), auth, {
    transport: "direct_jsonrpc_v1",
  });
  if (requireString(body, "environment_id") !== environmentId) {
    throw new RegistryError("environment registry returned a different environment_id", 0);
  }
  if (requireString(body, "transport") !== "direct_jsonrpc_v1") {
    throw new RegistryError(`environment registry returned unsupported transport ${body.transport}`, 0);
  }
  return {
    url: checkRendezvousUrl(requireString(body, "url")),
    registrationId: requireString(body, "registration_id"),
  };
}

/** `POST /validate`: is this authenticated harness key allowed on this stream? */
export async function validateHarnessKey(
  base: string,
  environmentId: string,
  bearer: string,
  streamId: string,
  request: { registrationId: string; harnessKey: NoisePublicKeyJson; authorization: string },
): Promise<boolean> {
  const body = await post(registryUrl(base, environmentId, "validate"), bearer, {
    executor_registration_id: request.registrationId,
    harness_public_key: request.harnessKey,
    harness_key_authorization: request.authorization,
  }, { "x-codex-noise-stream-id": streamId });
  return body.valid === true;
}
