/** Deferred construction of (zod) schemas, for a fast cold start. @module */

/**
 * Defers building a schema until it is first used, so that loading the protocol costs nothing at startup
 * (building every schema eagerly was ~15 ms of the server's cold start). The result stands in for
 * the schema `build` returns: a Proxy that builds it once, on the first property access, and forwards
 * everything to it, so it can be parsed with, composed into other schemas and inferred from like the schema
 * itself. `build` must be pure (it runs at most once, at an unpredictable moment).
 */
export function lazySchema<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const real = (): T => (schema ??= build());
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(real(), key),
    set: (_target, key, value) => Reflect.set(real(), key, value),
    has: (_target, key) => Reflect.has(real(), key),
    deleteProperty: (_target, key) => Reflect.deleteProperty(real(), key),
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    ownKeys: () => Reflect.ownKeys(real()),
    // Reported as configurable: the proxy's own (empty) target cannot vouch for non-configurable properties.
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
