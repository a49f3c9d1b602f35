/** The program version, from `deno.json` (a static JSON import: works from source, bundle and binary). @module */
import config from "../deno.json" with { type: "json" };

/** This build's version, e.g. `0.1.0`. */
export const VERSION: string = config.version;
