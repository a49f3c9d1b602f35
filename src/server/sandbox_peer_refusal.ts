/**
 * Refusing connections held by processes this server sandboxed (see `sandbox/peer_check.ts`): a
 * sandboxed process must never drive the server that sandboxed it, token or not.
 *
 * @module
 */
import { checkPeer, peerCheckNeeded, type PeerVerdict } from "../sandbox/peer_check.ts";
import { log } from "../util/log.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

/**
 * Wraps a `Deno.serve` handler: while a sandboxed process may be around, every request is first checked
 * and a sandboxed peer gets a 403 (and a log line) before anything else, token included. Otherwise the
 * request goes straight to `handler` (one map lookup). `port` is the bound listening port.
 */
export function refuseSandboxedPeers(handler: Handler, port: () => number): Handler {
  return (request, info) => {
    if (!peerCheckNeeded()) return handler(request, info);
    return verdictFor(info.remoteAddr, port()).then((verdict) => {
      if (verdict.allowed) return handler(request, info);
      const { hostname, port: peerPort } = info.remoteAddr;
      log.warn(
        `refused connection from ${hostname}:${peerPort}: ${verdict.reason}; ` +
          "a process this server sandboxed may not connect to it",
      );
      return new Response("sandboxed processes may not connect to this exec-server", { status: 403 });
    });
  };
}

async function verdictFor(remote: Deno.NetAddr, port: number): Promise<PeerVerdict> {
  try {
    return await checkPeer(remote, port);
  } catch (error) {
    return { allowed: false, reason: `the peer could not be checked (${error})` };
  }
}
