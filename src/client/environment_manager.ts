/**
 * `EnvironmentManager`: the environments from `loadEnvironments()` (Codex's `environments.toml`
 * semantics), keyed by id, with default and `local` lookup. Nothing connects until an environment's
 * client is first used.
 *
 * @module
 */
import type { EnvironmentsConfig } from "../config/environments_toml.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_INITIALIZE_TIMEOUT_MS,
  LOCAL_ENVIRONMENT_ID,
} from "../config/environments_toml.ts";
import { loadEnvironments, type LoadEnvironmentsOptions } from "../config/load_environments.ts";
import { Environment, type EnvironmentOptions } from "./environment.ts";

/** Options of {@link EnvironmentManager.load}. */
export type EnvironmentManagerLoadOptions = LoadEnvironmentsOptions & EnvironmentOptions;

/** Environments by id, plus the default. */
export class EnvironmentManager {
  readonly #environments = new Map<string, Environment>();
  readonly #defaultId: string | null;
  readonly #options: EnvironmentOptions;

  /** Builds a manager from resolved configuration (e.g. the result of `loadEnvironments()`). */
  constructor(config: EnvironmentsConfig, options: EnvironmentOptions = {}) {
    this.#options = options;
    if (config.includeLocal) {
      this.#environments.set(LOCAL_ENVIRONMENT_ID, new Environment(LOCAL_ENVIRONMENT_ID, null, options));
    }
    for (const entry of config.environments) {
      this.#environments.set(entry.id, new Environment(entry.id, entry, options));
    }
    this.#defaultId = config.defaultId;
  }

  /** Loads the configuration (`--config`, `$CODEX_HOME/environments.toml`, `CODEX_EXEC_SERVER_URL`). */
  static async load(options: EnvironmentManagerLoadOptions = {}): Promise<EnvironmentManager> {
    return new EnvironmentManager(await loadEnvironments(options), options);
  }

  /** The default environment id, or `null` when the default is disabled. */
  get defaultEnvironmentId(): string | null {
    return this.#defaultId;
  }

  /** The default environment, or `null` when disabled. */
  defaultEnvironment(): Environment | null {
    return this.#defaultId === null ? null : this.#environments.get(this.#defaultId) ?? null;
  }

  /** The built-in `local` environment, when included. */
  localEnvironment(): Environment | null {
    return this.#environments.get(LOCAL_ENVIRONMENT_ID) ?? null;
  }

  /** The default environment, else `local`. */
  defaultOrLocalEnvironment(): Environment | null {
    return this.defaultEnvironment() ?? this.localEnvironment();
  }

  /** An environment by exact id. */
  getEnvironment(id: string): Environment | undefined {
    return this.#environments.get(id);
  }

  /** Every id, the default first, then the rest in configuration order (`local` first among them). */
  environmentIds(): string[] {
    const ids = [...this.#environments.keys()];
    if (this.#defaultId === null || !this.#environments.has(this.#defaultId)) return ids;
    return [this.#defaultId, ...ids.filter((id) => id !== this.#defaultId)];
  }

  /** Every environment, in {@link environmentIds} order. */
  environments(): Environment[] {
    return this.environmentIds().map((id) => this.#environments.get(id)!);
  }

  /** Adds or replaces a WebSocket environment without touching the default (Codex's `environment/add`). */
  async upsertEnvironment(id: string, url: string): Promise<Environment> {
    const environment = new Environment(id, {
      kind: "websocket",
      id,
      url,
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      initializeTimeoutMs: DEFAULT_INITIALIZE_TIMEOUT_MS,
    }, this.#options);
    const previous = this.#environments.get(id);
    this.#environments.set(id, environment);
    await previous?.close();
    return environment;
  }

  /** Closes every environment's client (and the local server's processes). */
  async close(): Promise<void> {
    await Promise.all([...this.#environments.values()].map((environment) => environment.close()));
  }
}
