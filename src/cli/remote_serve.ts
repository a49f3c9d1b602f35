/**
 * The `--remote` half of `exec-server serve`: its flags, the registration bearer, and the run loop that
 * hands every harness stream to the server as its own connection.
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import { RemoteExecutor, type RemoteTransportKind } from "../remote/remote_executor.ts";
import { RegistryError } from "../remote/registry.ts";
import { resolveSigV4Config } from "../remote/sigv4.ts";
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
const MAX_BEARER_BYTES = 16 * 1024;

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

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

function apiKeyHostAllowed(url: URL): boolean {
  if (isLoopbackHost(url.hostname)) return true;
  const host = url.hostname.toLowerCase();
  const official = ["openai.com", "openai.org"].some((d) => host === d || host.endsWith(`.${d}`));
  return url.protocol === "https:" && official;
}

/** Reads stdin up to its first newline (at most 16 KiB); the reader stays usable for end-of-input. */
async function readBearerLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const error = new Error("expected a newline-terminated registration bearer of at most 16 KiB");
  const chunks: number[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw error;
    for (const byte of value) {
      if (byte === 0x0a) {
        const line = new TextDecoder().decode(Uint8Array.from(chunks)).replace(/\r$/, "");
        if (line.trim() === "") throw error;
        return line;
      }
      chunks.push(byte);
      if (chunks.length > MAX_BEARER_BYTES) throw error;
    }
  }
}

/**
 * Serves through the registry until `stop` resolves (or stdin closes with --exit-on-stdin-close); returns
 * the exit status. A failed first registration is printed (401/403 named as authentication failures) and
 * ends the process with status 1.
 */
export async function runRemoteServe(
  server: { accept(transport: MessageTransport): unknown },
  config: RemoteServeConfig,
  stop: Promise<void>,
  maxMessageBytes?: number,
): Promise<number> {
  const reader = config.bearerFromStdin || config.exitOnStdinClose ? Deno.stdin.readable.getReader() : null;
  let bearer: string;
  const sigv4 = config.aws ? await resolveSigV4Config(config.aws) : undefined;
  if (sigv4 && !config.bearerFromStdin) {
    bearer = "";
  } else if (config.bearerFromStdin) {
    bearer = await readBearerLine(reader!);
  } else {
    bearer = Deno.env.get("CODEX_API_KEY") ?? "";
    if (bearer === "") {
      throw new Error(
        "remote exec-server registration requires a registration bearer: pass --registration-bearer-stdin " +
          "or set CODEX_API_KEY",
      );
    }
    if (!apiKeyHostAllowed(new URL(config.url))) {
      throw new Error(
        "remote exec-server API-key authentication is restricted to HTTPS openai.com and openai.org hosts " +
          "and subdomains or loopback hosts",
      );
    }
  }
  const controller = new AbortController();
  stop.then(() => controller.abort());
  if (config.exitOnStdinClose && reader) {
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch {
        // closed
      }
      controller.abort();
    })();
  }
  const backoff = Number(Deno.env.get("EXEC_SERVER_REMOTE_BACKOFF_MS") ?? "");
  const executor = new RemoteExecutor({
    registryUrl: config.url,
    environmentId: config.environmentId,
    bearer,
    transport: config.transport,
    sigv4,
    accept: (transport) => server.accept(transport),
    initialBackoffMs: Number.isFinite(backoff) && backoff > 0 ? backoff : undefined,
    maxMessageBytes,
    onEvent: (event) => {
      if (event === "registered") {
        console.error(`exec-server: registered environment ${config.environmentId}`);
      }
    },
  });
  try {
    await executor.run(controller.signal);
  } catch (error) {
    if (error instanceof RegistryError) {
      console.error(`exec-server: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    try {
      reader?.releaseLock(); // a pending end-of-input read is abandoned
    } catch {
      // already released
    }
  }
  return 0;
}
