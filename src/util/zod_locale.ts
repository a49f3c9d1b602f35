/**
 * Registers zod's English messages. `zod/mini` (used for its cheaper startup) does not, unlike classic `zod`;
 * the serde-style messages we build fall back to zod's text for some issues (`too_small`, ...), so import
 * this (for its side effect) wherever schemas are defined.
 *
 * @module
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
