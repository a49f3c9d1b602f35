/**
 * The executor's `environmentInfo` (Codex 0.169+): sent with `initialize` and by `environment/info`.
 * Capabilities list only what this server implements; a client skips what is not advertised.
 *
 * @module
 */
import { loginShell } from "../environment/login_shell.ts";
import type { EnvironmentCapabilities, EnvironmentInfoResult } from "../protocol/environment.ts";
import { toFileUri } from "../protocol/paths.ts";
import { sha256 } from "../util/sha256.ts";
import { VERSION } from "../version.ts";

/** What this server implements, by Codex 0.171's capability names. */
export const SERVER_CAPABILITIES: Readonly<Required<EnvironmentCapabilities>> = Object.freeze({
  // No managed network proxy, no credential masking: a client must not rely on them.
  networkProxyLaunch: false,
  networkProxyReviewDomains: false,
  networkProxyTransparentTcp: false,
  credentialMasking: false,
  credentialMaskingCustomProviders: false,
  // capabilities/discoverV2 and capabilityRoots/discoverV1, their `sandbox` enforced as fs/* enforces it.
  capabilityDiscoverySandbox: true,
  capabilityDiscoveryV2: true,
  // environmentConfig/read: system, user and legacy managed config layers; /etc/codex/requirements.toml.
  environmentConfigRead: true,
  // fs/watchMissing, and fs/open + readBlock/writeBlock, sandboxed or not.
  fsWatchMissing: true,
  sandboxedFileStreaming: true,
  fileWriteStreaming: true,
  // http/request header valueEnvVar.
  httpHeaderEnvVars: true,
  shellSnapshotV2: false,
  windowsMxc: false,
  linuxRootWritePreservesDevices: false,
  linuxApprovedRootWritePreservesRestrictions: false,
});

let cached: EnvironmentInfoResult | null = null;

/**
 * This server's environment info (computed once: the host facts do not change while it runs). Synchronous,
 * so that `initialize` is answered in order with the requests that follow it.
 */
export function environmentInfo(): EnvironmentInfoResult {
  cached ??= compute();
  return cached;
}

function compute(): EnvironmentInfoResult {
  const home = Deno.env.get("HOME");
  const tempDir = Deno.env.get("TMPDIR") || "/tmp";
  return {
    shell: loginShell(),
    executorVersion: VERSION,
    providerId: `sha256:${providerDigest()}`,
    cwd: toFileUri(Deno.cwd()),
    ...(home ? { userHomeDir: toFileUri(home) } : {}),
    platformOs: platformOs(),
    prependPathDirs: [],
    temporaryDirectories: [],
    tempDir: toFileUri(tempDir),
    capabilities: { ...SERVER_CAPABILITIES },
  };
}

function platformOs(): string {
  return Deno.build.os === "darwin" ? "macos" : Deno.build.os;
}

// Stable for one host and user: the machine id (hostname where there is none) and the uid.
function providerDigest(): string {
  let machine = "";
  try {
    machine = Deno.readTextFileSync("/etc/machine-id").trim();
  } catch {
    // No machine id (containers often lack one).
  }
  if (machine === "") {
    try {
      machine = Deno.hostname();
    } catch {
      machine = "unknown-host"; // no --allow-sys
    }
  }
  const identity = `exec-server\0${machine}\0${Deno.uid() ?? ""}`;
  return sha256(new TextEncoder().encode(identity)).toHex();
}
