/**
 * The exec-server protocol: zod schemas, inferred types, typed method descriptors, error codes and the
 * message envelope. Shared by the server, the client and the tests.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./envelope.ts";
export * from "./schema.ts";
export * from "./initialize.ts";
export * from "./env_policy.ts";
export * from "./sandbox.ts";
export * from "./process.ts";
export * from "./fs.ts";
export * from "./http.ts";
export * from "./environment.ts";
export * from "./methods.ts";
