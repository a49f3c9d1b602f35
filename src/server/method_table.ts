/**
 * Method name -> handler, registered through the protocol's typed descriptors so a handler's params
 * and result types come from the one protocol module.
 *
 * @module
 */
import type { RequestType } from "../protocol/methods.ts";
import type { EncodedResult, FollowUp, ServerConnection } from "./connection.ts";
import type { HandlerContext } from "../rpc/handler_context.ts";
import type { Session } from "./session.ts";

/** Everything a handler may use. */
export interface RequestContext extends HandlerContext {
  readonly connection: ServerConnection;
  /** The connection's session (always set: the handshake gate ran first). */
  readonly session: Session;
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
