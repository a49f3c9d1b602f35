/**
 * Ending many trees at once must neither take long nor freeze the server for other clients: processes
 * terminated together end within 5 s while another connection's `environment/info` (from a separate
 * process) stays under 50 ms at p99. Before, each terminate scanned all of `/proc` on the event loop and
 * every client stalled until the last was done. Both containment modes are measured: cgroups (where the
 * host allows) and the process-group fallback. The 1000-process version is `bench/load.ts --terminate`.
 */
import assert from "node:assert/strict";
import { type ContainmentChoice, measureMassTermination } from "./support/mass_termination.ts";

const PROCESSES = 300;

async function massTermination(containment: ContainmentChoice): Promise<void> {
  const figures = await measureMassTermination(PROCESSES, containment);
  assert.equal(figures.survivors, 0, `${figures.survivors} processes outlived their terminate`);
  assert.ok(
    figures.elapsedMs < 5_000,
    `${PROCESSES} terminated in ${figures.elapsedMs.toFixed(0)} ms (limit 5000)`,
  );
  assert.ok(
    figures.latenciesMs.length >= 5,
    `only ${figures.latenciesMs.length} environment/info answered meanwhile`,
  );
  assert.ok(
    figures.p99Ms < 50,
    `environment/info p99 ${figures.p99Ms.toFixed(1)} ms over ${figures.latenciesMs.length} calls (limit 50)`,
  );
}

Deno.test(`${PROCESSES} processes terminated at once end within 5 s; other clients stay responsive (cgroups)`, () =>
  massTermination("auto"));

Deno.test(`${PROCESSES} processes terminated at once end within 5 s; other clients stay responsive (process groups)`, () =>
  massTermination("process-group"));
