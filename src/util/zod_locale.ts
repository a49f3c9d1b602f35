/**
 * Registers zod's English messages. `zod/mini` (used for its cheaper startup) does not, unlike classic `zod`;
 * the serde-style messages we build fall back to zod's text for some issues (`too_small`, ...), so import
 * this (for its side effect) wherever schemas are defined.
 *
 * @module
 */
import { config } from "./zod.ts";
// deno-lint-ignore no-import-prefix -- see zod.ts: importable without our deno.json
import en from "npm:zod@4.6.7/v4/locales/en.js";

config(en());
