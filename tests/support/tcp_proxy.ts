/**
 * A tiny TCP forwarder on 127.0.0.1 that tests can cut abruptly: `kill()` closes both sockets of every
 * forwarded connection without a WebSocket close frame, which is what a dropped network link looks
 * like to the server (it sees EOF/reset, close code 1006).
 *
 * @module
 */

/** One forwarded listener. */
export interface TcpProxy {
  /** `ws://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** Drops every live forwarded connection (both directions, no close handshake). */
  kill(): void;
  /**
   * Closes the client side of every forwarded connection and stops forwarding, but leaves the server's
   * side open and silent: a half-open link, as a vanished network path leaves it. Only the server's ping
   * deadline can find out.
   */
  strand(): void;
  /**
   * Stops reading from the server: what it sends piles up in the kernel buffers between it and us, as
   * when a client stalls. `kill()` then loses all of it.
   */
  pauseFromServer(): void;
  /** Stops listening and drops everything. */
  close(): void;
}

/** Starts forwarding a new local port to `targetUrl` (`ws://127.0.0.1:PORT`). */
export function startTcpProxy(targetUrl: string): TcpProxy {
  const target = new URL(targetUrl);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const live = new Set<Deno.Conn>();
  const upstreams = new Set<Deno.Conn>();
  const stranded = new Set<Deno.Conn>();
  const drop = (conn: Deno.Conn) => {
    if (stranded.has(conn)) return;
    if (!live.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  let paused: PromiseWithResolvers<void> | null = null;
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (paused && upstreams.has(from)) await paused.promise;
        const n = await from.read(buffer);
        if (n === null) break;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // Cut by kill() or the peer.
    }
    drop(from);
    drop(to);
  };
  (async () => {
    try {
      for await (const client of listener) {
        live.add(client);
        Deno.connect({ hostname: target.hostname, port: Number(target.port) }).then((upstream) => {
          if (!live.has(client)) {
            upstream.close();
            return;
          }
          live.add(upstream);
          upstreams.add(upstream);
          pipe(client, upstream);
          pipe(upstream, client);
        }, () => drop(client));
      }
    } catch {
      // Listener closed.
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    kill() {
      for (const conn of [...live]) drop(conn);
      paused?.resolve(); // the paused readers find their sockets closed
      paused = null;
    },
    pauseFromServer() {
      paused ??= Promise.withResolvers<void>();
    },
    strand() {
      for (const conn of [...live]) {
        if (upstreams.has(conn)) stranded.add(conn);
        else drop(conn);
      }
    },
    close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      stranded.clear();
      for (const conn of [...live]) drop(conn);
      paused?.resolve();
      paused = null;
    },
  };
}
