/**
 * The `--remote` half of `exec-server serve`: the registration bearer and the run loop that hands every
 * harness stream to the server as its own connection (its flags are `remote_flags.ts`). Imported on
 * demand, so that a plain `serve` does not load the relay and Noise code.
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import { RemoteExecutor } from "../remote/remote_executor.ts";
import type { RemoteServeConfig } from "./remote_flags.ts";
import { RegistryError } from "../remote/registry.ts";
import { resolveSigV4Config } from "../remote/sigv4.ts";

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

const MAX_BEARER_BYTES = 16 * 1024;

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
