/**
 * SHA-256 without a promise (WebCrypto's digest is asynchronous), from the audited @noble/hashes, by full
 * npm specifier (see `zod.ts`).
 *
 * @module
 */
export { sha256 } from "npm:@noble/hashes@2.4.0/sha2.js";
