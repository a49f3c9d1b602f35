/**
 * What a capability discovery is asked to do, and the helper method that runs it inside a sandbox: kept
 * apart from the scanning itself (`discovery_jobs.ts`, with its YAML parser), which is loaded on first use.
 *
 * @module
 */

/** The helper method that runs a {@link DiscoveryJob} inside the sandbox. */
export const DISCOVERY_HELPER_METHOD = "capabilities/discoverInSandbox";

/** One discovery job (plain JSON: it crosses into the helper on stdin). */
export type DiscoveryJob =
  | { kind: "skills"; home: string | null; codexHome: string | null }
  | { kind: "root"; id: string; uri: string; root: string };
