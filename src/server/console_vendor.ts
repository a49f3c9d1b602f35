/**
 * xterm.js (npm `@xterm/xterm`, pinned here by its full specifier, as in deno.json and deno.lock) for the
 * console's terminal view, taken in as text imports: `deno run` reads them from the npm cache, and
 * `deno bundle` (so the single-file bundle and the binary compiled from it) inlines them as string
 * literals, so the console never asks another host for them. Imported lazily (only when the console asks for an asset), so a server that never serves the
 * console never parses them.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- by full specifier, so mod.ts imports without our deno.json
import xtermJs from "npm:@xterm/xterm@6.0.0/lib/xterm.js" with { type: "text" };
// deno-lint-ignore no-import-prefix -- as above
import xtermCss from "npm:@xterm/xterm@6.0.0/css/xterm.css" with { type: "text" };

/** xterm.js's UMD build (it defines `Terminal` as a global), without its source-map comment (the map is
 * not served, and a browser's developer tools would ask for it). */
export const XTERM_JS: string = xtermJs.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");

/** xterm.js's stylesheet. */
export const XTERM_CSS: string = xtermCss;
