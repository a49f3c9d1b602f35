/**
 * The audited @noble primitives the Noise channel and SigV4 use, by full npm specifier in one place (so
 * `mod.ts` imports from outside this project, without our `deno.json`).
 *
 * @module
 */
export { x25519 } from "npm:@noble/curves@2.4.0/ed25519.js";
export { ml_kem768 } from "npm:@noble/post-quantum@0.7.1/ml-kem.js";
export { gcm } from "npm:@noble/ciphers@2.4.0/aes.js";
export { sha256 } from "npm:@noble/hashes@2.4.0/sha2.js";
export { hkdf } from "npm:@noble/hashes@2.4.0/hkdf.js";
export { hmac } from "npm:@noble/hashes@2.4.0/hmac.js";
