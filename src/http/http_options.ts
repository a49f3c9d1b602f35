/** Server-level switches for `http/request`. @module */
import type { EnvLookup } from "./request_validation.ts";

/** How a server lets clients use `http/request`. */
export interface HttpOptions {
  /** When true every `http/request` is refused with `-32600 http/request is disabled on this server`. */
  disabled?: boolean;
  /**
   * Target hosts clients may reach; `null`/`undefined` allows every host, `[]` allows none.
   * Matching rules are described in `allow_hosts.ts` ({@link compileAllowHosts}).
   */
  allowHosts?: string[] | null;
  /**
   * Where header `valueEnvVar` names are looked up: the server process's environment unless given
   * (tests pass a map).
   */
  env?: EnvLookup;
}
