/**
 * The bubblewrap sandbox: plans from the wire's `sandbox` context, the bwrap command prefix (also for
 * `process/start`), and the `__sandbox-helper` entry point.
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
