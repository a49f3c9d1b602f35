/**
 * zod (its small `zod/mini` build) by its full npm specifier, in one place: every other file imports it
 * from here, so `mod.ts` works when imported from outside this project, without our `deno.json`.
 *
 * @module
 */
export * from "npm:zod@4.6.7/mini";
