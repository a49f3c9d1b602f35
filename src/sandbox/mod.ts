/**
 * The bubblewrap sandbox: plans from the wire's `sandbox` context, the bwrap command prefix (also for
 * `process/start`), the `__sandbox-helper` entry point, the server's secret files masked in every
 * sandbox, and the record of sandboxed processes that may not connect back to the server.
 *
 * @module
 */
export {
  type DirectPlan,
  type EnforcedPlan,
  type SandboxMount,
  type SandboxPlan,
  sandboxPlan,
} from "./policy.ts";
export { bwrapArgv, bwrapAvailable, type BwrapOptions, findBwrap } from "./bwrap.ts";
export { runSandboxHelper, SANDBOX_HELPER_ARG } from "./helper.ts";
export { protectServerFile, serverSecretPaths } from "./server_secrets.ts";
export { trackSandboxedProcess } from "./sandboxed_processes.ts";
