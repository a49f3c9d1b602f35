/**
 * The flags of `serve --remote` (and `forward`), parsed without loading the remote room: the relay, Noise
 * and SigV4 code is imported only when a registration really runs (see `remote_serve.ts`).
 *
 * @module
 */
import type { RemoteTransportKind } from "../remote/remote_executor.ts";
import { UsageError } from "./usage_error.ts";

/** What `--remote` and its companions configure. */
export interface RemoteServeConfig {
  url: string;
  environmentId: string;
  name: string | null;
  bearerFromStdin: boolean;
  transport: RemoteTransportKind;
  exitOnStdinClose: boolean;
  /** `--aws-sigv4` (direct): profile, region and service to sign with. */
  aws: { profile?: string; region?: string; service: string } | null;
}

export const REMOTE_USAGE = `
remote registration (serve through an environment registry's relay instead of listening):
  --remote URL                 register with the environment registry at URL (http(s)://)
  --environment-id ID          the environment to register as ([A-Za-z0-9_-], at most 256 characters)
  --name NAME                  human-readable environment name (kept locally)
  --registration-bearer-stdin  read the registration bearer as one line from stdin (else CODEX_API_KEY)
  --remote-transport MODE      noise (default: end-to-end encrypted streams) or direct (plain JSON-RPC)
  --aws-sigv4                  direct: sign registration and upgrade with AWS SigV4 instead of the bearer
  --aws-profile PROFILE        AWS profile for --aws-sigv4 (default: AWS_PROFILE, else default)
  --aws-region REGION          signing region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)
  --aws-service SERVICE        signing service (default execute-api)
  (with --remote, --exit-on-stdin-close ends the registration loop on stdin EOF)`;

export const REMOTE_OPTIONS = {
  remote: { type: "string" },
  "environment-id": { type: "string" },
  name: { type: "string" },
  "registration-bearer-stdin": { type: "boolean" },
  "remote-transport": { type: "string" },
  "aws-sigv4": { type: "boolean" },
  "aws-profile": { type: "string" },
  "aws-region": { type: "string" },
  "aws-service": { type: "string" },
} as const;

const MAX_ENVIRONMENT_ID_CHARS = 256;

/** Checks the remote flags; null when `--remote` is not given. */
export function parseRemoteFlags(
  values: Record<string, string | boolean | string[] | undefined>,
  usage: string,
): RemoteServeConfig | null {
  const url = values.remote as string | undefined;
  if (url === undefined) return null;
  if (values.listen !== undefined) {
    throw new UsageError("the argument '--remote <URL>' cannot be used with '--listen <URL>'", usage);
  }
  const environmentId = values["environment-id"] as string | undefined;
  if (environmentId === undefined) {
    throw new UsageError("--remote needs --environment-id <ID>", usage);
  }
  if (
    environmentId === "" || environmentId.length > MAX_ENVIRONMENT_ID_CHARS ||
    !/^[A-Za-z0-9_-]+$/.test(environmentId)
  ) {
    throw new UsageError(
      `invalid --environment-id \`${environmentId}\`: use 1 to ${MAX_ENVIRONMENT_ID_CHARS} of A-Z a-z 0-9 _ -`,
      usage,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid --remote URL \`${url}\``, usage);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`--remote expects an http:// or https:// URL, got \`${url}\``, usage);
  }
  const transport = (values["remote-transport"] as string | undefined) ?? "noise";
  if (transport !== "noise" && transport !== "direct") {
    throw new UsageError(`--remote-transport expects noise or direct, got \`${transport}\``, usage);
  }
  const sigv4 = values["aws-sigv4"] === true;
  if (sigv4 && transport !== "direct") {
    throw new UsageError("--aws-sigv4 needs --remote-transport direct", usage);
  }
  for (const flag of ["aws-profile", "aws-region", "aws-service"]) {
    if (values[flag] !== undefined && !sigv4) throw new UsageError(`--${flag} needs --aws-sigv4`, usage);
  }
  return {
    url,
    environmentId,
    name: (values.name as string | undefined) ?? null,
    bearerFromStdin: values["registration-bearer-stdin"] === true,
    transport,
    exitOnStdinClose: values["exit-on-stdin-close"] === true,
    aws: sigv4
      ? {
        profile: values["aws-profile"] as string | undefined,
        region: values["aws-region"] as string | undefined,
        service: (values["aws-service"] as string | undefined) ?? "execute-api",
      }
      : null,
  };
}
