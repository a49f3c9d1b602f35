/**
 * The reference exec-server (Codex 0.171's `codex exec-server --listen stdio`) as a raw peer, for
 * differential tests. Its `CODEX_HOME` is a scratch dir in the test cache, outside the system temp dir
 * (the reference's sandbox helper refuses to start under it).
 *
 * @module
 */
import { join } from "node:path";
import { StreamTransport } from "../../src/rpc/stream_transport.ts";
import { cacheRoot, codexBinary } from "../codex/fetch_codex.ts";
import { RpcPeer } from "./rpc_peer.ts";

/** A running reference server on pipes. */
export interface ReferenceStdio {
  peer: RpcPeer;
  close(): Promise<void>;
}

/**
 * Starts `codex exec-server --listen stdio` of Codex 0.171.0 (fetched on first use); `env` adds variables
 * to the inherited environment (its `CODEX_HOME` replaces the scratch one); `wrap` is an argv prefix that
 * runs it (`unshare ...`).
 */
export async function startReferenceStdio(
  env: Record<string, string> = {},
  wrap: string[] = [],
): Promise<ReferenceStdio> {
  const codex = await codexBinary("0.171.0");
  const root = cacheRoot();
  await Deno.mkdir(root, { recursive: true });
  const home = await Deno.makeTempDir({ dir: root, prefix: "ref-home-" });
  const argv = [...wrap, codex, "exec-server", "--listen", "stdio"];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env: { CODEX_HOME: home, ...env },
  }).spawn();
  const peer = new RpcPeer(
    new StreamTransport(child.stdout, child.stdin, { description: "reference stdio" }),
    { checkResults: false },
  );
  return {
    peer,
    async close() {
      peer.close();
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await Deno.remove(join(home), { recursive: true }).catch(() => {});
    },
  };
}
