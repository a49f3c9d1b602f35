/**
 * exec-server entry point: `deno run -A main.ts [serve] --listen stdio|ws://IP:PORT`.
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
