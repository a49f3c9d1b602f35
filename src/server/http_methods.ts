/**
 * `http/request`: one handler per connection (stream ids are per connection), closed with it so a
 * disconnect aborts that connection's in-flight requests and body streams.
 *
 * @module
 */
import { createHttpRequestHandler, type HttpRequestHandler } from "../http/mod.ts";
import { HttpRequest } from "../protocol/methods.ts";
import { FollowUp, type ServerConnection } from "./connection.ts";
import type { MethodTable } from "./method_table.ts";
import type { ServerOptions } from "./options.ts";

/** Registers `http/request`; returns the hook to call when a connection closes. */
export function registerHttpMethods(
  methods: MethodTable,
  options: ServerOptions,
): (c: ServerConnection) => void {
  const handlers = new WeakMap<ServerConnection, HttpRequestHandler>();
  const handlerFor = (connection: ServerConnection) => {
    let handler = handlers.get(connection);
    if (!handler) {
      handler = createHttpRequestHandler({
        disabled: options.httpDisabled,
        allowHosts: options.httpAllowHosts,
      });
      handlers.set(connection, handler);
    }
    return handler;
  };
  methods.register(HttpRequest, async (params, ctx) => {
    const { result, afterResponse } = await handlerFor(ctx.connection).handle(params, ctx);
    return afterResponse ? new FollowUp(result, afterResponse) : result;
  });
  return (connection) => handlers.get(connection)?.close();
}
