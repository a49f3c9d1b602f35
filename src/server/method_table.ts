/**
 * Method name -> handler, registered through the protocol's typed descriptors so a handler's params
 * and result types come from the one protocol module.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";
import type { RequestType } from "../protocol/methods.ts";
import { decodeParams } from "../protocol/schema.ts";
import type { EncodedResult, FollowUp, ServerConnection } from "./connection.ts";
import type { HandlerContext } from "../rpc/handler_context.ts";
import type { Session } from "./session.ts";

/**
 * State a handler keeps per connection (a spawn rate limiter, the HTTP stream table): made by `create` on
 * the first request of a connection that asks for it, and handed to `dispose` when that connection closes.
 */
export class PerConnection<T> {
  constructor(readonly create: () => T, readonly dispose: (value: T) => void = () => {}) {}
}

/** Everything a handler may use. */
export interface RequestContext extends HandlerContext {
  /** The connection that sent the request (the handshake needs it; other handlers use `perConnection`). */
  readonly connection: ServerConnection;
  /** The connection's session: set for every gated method (the gate ran first), not for `initialize`. */
  readonly session: Session;
  /** This connection's instance of `state`, made on first use and disposed when the connection closes. */
  perConnection<T>(state: PerConnection<T>): T;
}

/** A handler for one method. */
export type MethodHandler<P, R> = (
  params: P,
  ctx: RequestContext,
) => Promise<R | FollowUp<R> | EncodedResult<R>> | R | FollowUp<R> | EncodedResult<R>;

/** A registered method. */
export interface MethodEntry {
  readonly descriptor: RequestType<unknown, unknown>;
  readonly handler: MethodHandler<unknown, unknown>;
}

/** The server's methods. */
export class MethodTable {
  readonly #entries = new Map<string, MethodEntry>();

  register<P, R>(descriptor: RequestType<P, R>, handler: MethodHandler<P, R>): this {
    this.#entries.set(descriptor.method, {
      descriptor: descriptor as RequestType<unknown, unknown>,
      handler: handler as MethodHandler<unknown, unknown>,
    });
    return this;
  }

  get(method: string): MethodEntry | undefined {
    return this.#entries.get(method);
  }

  /** Wire names of every registered method. */
  get methods(): string[] {
    return [...this.#entries.keys()];
  }
}

/** Decodes params by the descriptor, including the unit-params rule of `environment/info`. */
export function decodeRequestParams(descriptor: RequestType<unknown, unknown>, params: unknown): unknown {
  if (descriptor.paramsTypeName !== null) {
    return decodeParams(descriptor.params, params, descriptor.paramsTypeName);
  }
  if (params === undefined || params === null) return null;
  if (typeof params === "object" && !Array.isArray(params) && Object.keys(params).length === 0) return null;
  const kind = Array.isArray(params) ? "sequence" : typeof params === "object" ? "map" : typeof params;
  throw RpcError.invalidParams(`invalid type: ${kind}, expected unit`);
}
