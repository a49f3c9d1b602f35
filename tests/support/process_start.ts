/**
 * `process/start` params for tests: a `bash -c` script in /tmp with a fixed `PATH`.
 *
 * @module
 */
import { MARKER_VAR } from "./process_count.ts";

/** The `PATH` test children get: bash and coreutils, nothing from the developer's shell. */
export const TEST_PATH = "/usr/bin:/bin";

/** Options of {@link bashStart}: a marker, and any `process/start` member to set or override. */
export type BashStartOptions = { marker?: string } & Record<string, unknown>;

/**
 * Params that run `script` under `bash -c` in /tmp, without a tty. A `marker` goes into the child's
 * environment (`MARKER_VAR`), so processes a failing test leaves behind can be found and killed.
 */
export function bashStart(processId: string, script: string, options: BashStartOptions = {}) {
  const { marker, ...extra } = options;
  return {
    processId,
    argv: ["bash", "-c", script],
    cwd: "/tmp",
    env: marker === undefined ? { PATH: TEST_PATH } : { PATH: TEST_PATH, [MARKER_VAR]: marker },
    tty: false,
    ...extra,
  };
}
