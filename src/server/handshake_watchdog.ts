/**
 * Connections that never become a WebSocket: a client can open sockets and send nothing (or half a
 * request), and `Deno.serve` keeps them forever, each holding a descriptor, until the server has none
 * left and refuses everyone. `Deno.serve` offers no hook on its sockets, so this watches them from
 * outside: every second it lists the established TCP connections to the listening port
 * (`/proc/net/tcp{,6}`), and a server-side socket that has not been upgraded to a WebSocket within
 * `--handshake-timeout` (or that is beyond `--max-pending-handshakes`, oldest first) is shut down with
 * `shutdown(2)` on our own descriptor: the connection ends, `Deno.serve` notices and closes the fd itself.
 * Plain HTTP requests (`/readyz`, `/metrics`) are answered at once, so a keep-alive connection idle that
 * long is closed too, as any HTTP server's idle timeout would.
 *
 * @module
 */
import { hasLibcSpawn, libc } from "../process/libc.ts";
import { log } from "../util/log.ts";

const SCAN_MS = 1_000;
const SHUT_RDWR = 2;
const ESTABLISHED = "01";
/** Descriptors held back for the watchdog's own pass, for when an attacker has taken all the others. */
const RESERVED_FDS = 4;
const CLOSE_WAIT = "08";

/** Limits of a {@link HandshakeWatchdog}. */
export interface HandshakeLimits {
  /** How long a connection may stay without completing a WebSocket upgrade. 0 disables the watchdog. */
  timeoutMs: number;
  /** How many such connections may be pending at once; the oldest beyond it are ended at once. */
  maxPending: number;
}

/** Ends connections to one listening port that do not become WebSockets in time. */
export class HandshakeWatchdog {
  readonly #limits: HandshakeLimits;
  readonly #port: () => number;
  /** Remote ports of connections upgraded to a WebSocket (keys are enough: see {@link upgraded}). */
  readonly #upgraded = new Set<number>();
  /** Remote ports with a plain request in progress, and how many. */
  readonly #busy = new Map<number, number>();
  /** Socket inode -> when we first saw it pending. */
  readonly #pendingSince = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #scanning = false;
  readonly #reserve = new DescriptorReserve(RESERVED_FDS);

  constructor(limits: HandshakeLimits, port: () => number) {
    this.#limits = limits;
    this.#port = port;
  }

  /** Starts scanning, where it can work (Linux, FFI for `shutdown`); logs once where it cannot. */
  start(): void {
    if (this.#limits.timeoutMs <= 0 || this.#timer !== null) return;
    if (Deno.build.os !== "linux" || !hasLibcSpawn()) {
      log.warn("half-open connections are not timed out here (needs Linux and --allow-ffi)");
      return;
    }
    this.#reserve.take();
    this.#timer = setInterval(() => {
      if (this.#scanning) return; // a slow pass (a huge connection table) is not stacked
      this.#scanning = true;
      this.scan(Date.now()).catch((error) => {
        // Never fatal: the watchdog is a safety net, not a reason for the server to die.
        log.warn(`handshake watchdog: ${(error as Error).message}`);
      }).finally(() => this.#scanning = false);
    }, SCAN_MS);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#reserve.release();
  }

  /**
   * The connection from `remotePort` became a WebSocket. Keyed by port alone: two peers with the same
   * port on different addresses would both count as upgraded, which only spares a socket.
   */
  upgraded(remotePort: number): void {
    this.#upgraded.add(remotePort);
  }

  /**
   * A plain HTTP request (an admin long-poll, say) is running on the connection from `remotePort`: it is
   * spared while the returned function has not been called.
   */
  busy(remotePort: number): () => void {
    this.#busy.set(remotePort, (this.#busy.get(remotePort) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.#busy.get(remotePort) ?? 1) - 1;
      if (left <= 0) this.#busy.delete(remotePort);
      else this.#busy.set(remotePort, left);
    };
  }

  /**
   * One pass: find pending connections, end the expired and the excess. The pass itself needs a few
   * descriptors (reading `/proc`), which are exactly what an attacker exhausts: on EMFILE it frees its
   * reserve, runs, and takes the reserve back.
   */
  async scan(now: number): Promise<void> {
    try {
      await this.#scanOnce(now);
    } catch (error) {
      if (!isEmfile(error)) throw error;
      this.#reserve.release();
      try {
        await this.#scanOnce(now);
      } catch (again) {
        if (!isEmfile(again)) throw again;
        log.debug("handshake watchdog: no descriptor free even with the reserve released");
      } finally {
        this.#reserve.take();
      }
    }
  }

  async #scanOnce(now: number): Promise<void> {
    const rows = await this.#connections();
    if (rows === null) return;
    const livePorts = new Set<number>();
    const pending: { inode: string; since: number }[] = [];
    for (const { remotePort, inode } of rows) {
      livePorts.add(remotePort);
      if (this.#upgraded.has(remotePort) || this.#busy.has(remotePort)) {
        this.#pendingSince.delete(inode); // its idle time starts again once the request is done
        continue;
      }
      const since = this.#pendingSince.get(inode) ?? now;
      this.#pendingSince.set(inode, since);
      pending.push({ inode, since });
    }
    // Forget what is gone.
    for (const port of this.#upgraded) if (!livePorts.has(port)) this.#upgraded.delete(port);
    const pendingInodes = new Set(pending.map((p) => p.inode));
    for (const inode of this.#pendingSince.keys()) {
      if (!pendingInodes.has(inode)) this.#pendingSince.delete(inode);
    }

    // Oldest first; among those first seen in the same scan, by inode (the kernel numbers sockets in
    // creation order).
    pending.sort((a, b) => a.since - b.since || Number(a.inode) - Number(b.inode));
    const excess = Math.max(0, pending.length - this.#limits.maxPending);
    const doomed = pending.filter((p, i) => i < excess || now - p.since >= this.#limits.timeoutMs);
    if (doomed.length > 0) this.#shut(doomed.map((p) => p.inode), pending.length);
  }

  /** Server-side sockets of established connections to our port: their peers' ports and inodes. */
  /** Read off the event loop: on a busy host the tables are large. */
  async #connections(): Promise<{ remotePort: number; inode: string }[] | null> {
    const port = this.#port();
    const rows: { remotePort: number; inode: string }[] = [];
    let readable = false;
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text: string;
      try {
        text = await Deno.readTextFile(table);
      } catch (error) {
        if (isEmfile(error)) throw error;
        continue;
      }
      readable = true;
      for (const line of text.split("\n").slice(1)) {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        const f = line.trim().split(/\s+/);
        if (f.length < 10 || (f[3] !== ESTABLISHED && f[3] !== CLOSE_WAIT)) continue;
        if (parseInt(f[1].split(":")[1], 16) !== port) continue;
        // inode 0: not a socket of any process in our namespace view (e.g. already orphaned).
        if (f[9] === "0") continue;
        rows.push({ remotePort: parseInt(f[2].split(":")[1], 16), inode: f[9] });
      }
    }
    return readable ? rows : null;
  }

  #shut(inodes: string[], pendingCount: number): void {
    const wanted = new Set(inodes.map((inode) => `socket:[${inode}]`));
    let shut = 0;
    try {
      for (const entry of Deno.readDirSync("/proc/self/fd")) {
        let target: string;
        try {
          target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
        } catch {
          continue; // closed meanwhile
        }
        if (!wanted.has(target)) continue;
        // Our own descriptor of the server side: shutdown(2) ends the connection, the fd stays Deno's.
        if (libc().shutdown(Number(entry.name), SHUT_RDWR) === 0) shut++;
        wanted.delete(target);
        if (wanted.size === 0) break;
      }
    } catch (error) {
      if (isEmfile(error)) throw error;
      log.debug(`handshake watchdog: cannot list /proc/self/fd: ${(error as Error).message}`);
      return;
    }
    if (shut > 0) {
      log.info(
        `closed ${shut} connection(s) that did not complete a WebSocket handshake (${pendingCount} pending)`,
      );
    }
  }
}

function isEmfile(error: unknown): boolean {
  return error instanceof Error && /os error 24|Too many open files/.test(error.message);
}

/** A few descriptors (on /dev/null) held so that they can be given back when every other one is taken. */
class DescriptorReserve {
  #files: Deno.FsFile[] = [];
  constructor(readonly size: number) {}

  take(): void {
    while (this.#files.length < this.size) {
      try {
        this.#files.push(Deno.openSync("/dev/null"));
      } catch {
        return; // none free now; the next pass tries again
      }
    }
  }

  release(): void {
    for (const file of this.#files.splice(0)) file.close();
  }
}
