/**
 * `http/request`: one handler per connection (stream ids are per connection), closed with it so a
 * disconnect aborts that connection's in-flight requests and body streams; `http/cancel` (ours) aborts one
 * stream.
 *
 * @module
 */
import { createHttpRequestHandler } from "../http/mod.ts";
import { HttpCancel, HttpRequest } from "../protocol/methods.ts";
import { FollowUp } from "./connection.ts";
import { type MethodTable, PerConnection } from "./method_table.ts";
import type { ServerOptions } from "./options.ts";
import type { AuditEvents } from "./audit.ts";

/** Registers `http/request` (each reported to `audit` with method and host) and `http/cancel` (ours). */
export function registerHttpMethods(methods: MethodTable, options: ServerOptions, audit: AuditEvents): void {
  const handlers = new PerConnection(
    () => createHttpRequestHandler({ disabled: options.httpDisabled, allowHosts: options.httpAllowHosts }),
    (handler) => handler.close(),
  );
  methods.register(HttpRequest, async (params, ctx) => {
    audit.emit({
      type: "http.request",
      sessionId: ctx.connection.session?.id ?? "",
      method: params.method,
      host: URL.parse(params.url)?.host ?? "",
    });
    const { result, afterResponse } = await ctx.perConnection(handlers).handle(params, ctx);
    return afterResponse ? new FollowUp(result, afterResponse) : result;
  });
  methods.register(HttpCancel, (params, ctx) => {
    return { cancelled: ctx.perConnection(handlers).cancel(params.requestId) };
  });
}
