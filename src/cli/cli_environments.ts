/**
 * The CLI's environments: `environments.toml` (or `--config`), with `local` served by an in-process
 * {@link ExecServer}. The CLI may import the server; the client library may not, so it is injected here.
 *
 * @module
 */
import { EnvironmentManager } from "../client/environment_manager.ts";
import { ExecServer } from "../server/exec_server.ts";

/** Loads the environments the way `run`, `envs` and `cp` see them. */
export function loadCliEnvironments(configPath: string | undefined): Promise<EnvironmentManager> {
  return EnvironmentManager.load({ configPath, localServer: () => new ExecServer() });
}
