/**
 * Is a TCP connection to this server held by one of our sandboxed processes? A sandbox with network
 * enabled shares the host's network namespace, so it reaches the server's port like any local client;
 * this finds the client's socket and the process holding it, from `/proc`:
 *
 * 1. No sandbox root alive, and none ended in the last minute (see `sandboxed_processes.ts`): allowed,
 *    with nothing read at all.
 * 2. The client end of the connection, in `/proc/net/tcp` and `/proc/net/tcp6` (this network namespace):
 *    the socket whose local address is the peer's address and whose remote port is ours. None: the peer
 *    is not on this host's network namespace, so it is not in one of our sandboxes: allowed (unless the
 *    peer address is loopback: then its socket is gone already, and it is refused).
 * 3. A socket without an owner (the client closed its end after queueing its requests): refused. A
 *    socket owned by another uid: sandboxed processes run as our uid and cannot change it (no
 *    capabilities): allowed.
 * 4. The process holding that socket (`socket:[inode]` among `/proc/<pid>/fd`): refused when it runs
 *    under one of our sandbox roots; allowed when it does not. Fail closed: when no holder can be found
 *    (a sandboxed process handing its socket from process to process faster than we look, one we may not
 *    inspect, a socket without an owner), or its ancestry cannot be read, the connection is refused too.
 *
 * @module
 */
import { liveSandboxRoots, peerChecksArmed, sandboxRootOf } from "./sandboxed_processes.ts";

/** The outcome of {@link checkPeer}. */
export type PeerVerdict = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: PeerVerdict = { allowed: true };

/**
 * True when connections need {@link checkPeer} at all: on Linux, while a sandboxed process is alive or
 * one ended less than a minute ago. One map lookup and one clock read.
 */
export function peerCheckNeeded(): boolean {
  return Deno.build.os === "linux" && peerChecksArmed();
}

/**
 * Decides whether the connection from `remote` to our listening `port` may proceed. Reads `/proc`
 * asynchronously (a few milliseconds, mostly the kernel listing its TCP table), so other connections are
 * not held up meanwhile; reads nothing when {@link peerCheckNeeded} is false.
 */
export async function checkPeer(
  remote: { hostname: string; port: number },
  port: number,
): Promise<PeerVerdict> {
  if (!peerCheckNeeded()) return ALLOWED;
  // Possibly empty (the last sandbox just ended): connections it left behind are still refused below.
  const live = liveSandboxRoots();
  const address = parseIp(remote.hostname);
  if (address === null) return ALLOWED; // not an IP peer (never for TCP)
  const sockets = await clientSockets(address, remote.port, port);
  if (sockets === null) return { allowed: false, reason: "/proc/net/tcp is unreadable" };
  if (sockets.length === 0) {
    // A loopback peer is always on this host: no row means its socket is gone already (reset after
    // queueing its requests). Any other address: a remote host, not a sandbox of ours.
    return isLoopback(address) ? { allowed: false, reason: "the peer's socket is already gone" } : ALLOWED;
  }
  // No owner: the client closed its end after writing (it may have queued requests to be run without
  // it). Who that was cannot be told, whatever uid the row shows, so refuse.
  if (sockets.some((s) => s.inode === "0")) {
    return { allowed: false, reason: "the peer's socket has no owner" };
  }
  const uid = Deno.uid();
  for (const socket of sockets.filter((s) => s.uid === uid)) {
    const holder = await socketHolder(socket.inode);
    if (holder === null) {
      return { allowed: false, reason: "no process holding the peer's socket could be identified" };
    }
    const root = sandboxRootOf(holder, live);
    if (root === "unknown") {
      return { allowed: false, reason: `the ancestry of peer process ${holder} could not be read` };
    }
    if (root !== "none") {
      return {
        allowed: false,
        reason: `the peer is sandboxed process ${holder} (in the sandbox started as process ${root.pid})`,
      };
    }
  }
  return ALLOWED;
}

/** One row of /proc/net/tcp{,6}, reduced to what matters here. */
interface TcpSocket {
  uid: number;
  inode: string;
}

/**
 * The sockets whose local end is `address`:`peerPort` and whose remote port is `serverPort`: the client
 * end of the connection, when it lives in our network namespace. Null when neither table is readable.
 */
async function clientSockets(
  address: Uint8Array,
  peerPort: number,
  serverPort: number,
): Promise<TcpSocket[] | null> {
  const found: TcpSocket[] = [];
  let readable = false;
  // An IPv6 peer's socket is in tcp6; an IPv4 one's in tcp, or in tcp6 (v4-mapped) for a dual-stack socket.
  const tables = normalizeIp(address).length === 16
    ? ["/proc/net/tcp6"]
    : ["/proc/net/tcp", "/proc/net/tcp6"];
  for (const table of tables) {
    if (found.length > 0) break;
    let text: string;
    try {
      text = await Deno.readTextFile(table);
    } catch {
      continue; // e.g. no IPv6
    }
    readable = true;
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const f = line.trim().split(/\s+/);
      // TIME_WAIT (06) rows are past connections: the current one's client end cannot be there yet.
      if (f.length < 10 || f[3] === "06") continue;
      const [localHex, localPort] = f[1].split(":");
      const remotePort = f[2].split(":")[1];
      if (parseInt(localPort, 16) !== peerPort || parseInt(remotePort, 16) !== serverPort) continue;
      const local = procAddress(localHex);
      if (local === null || !sameIp(local, address)) continue;
      found.push({ uid: Number(f[7]), inode: f[9] });
    }
  }
  return readable ? found : null;
}

/** Let other work run this often while scanning `/proc` (the scan itself is synchronous reads). */
const SLICE_MS = 2;

/** Lets pending I/O callbacks run (a macrotask, in microseconds; a zero timer costs a millisecond or more). */
function yieldToEventLoop(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * The first process holding `socket:[inode]`, scanning `/proc` in pid order (this process included: an
 * in-process client is no sandbox); null when none could be seen.
 */
async function socketHolder(inode: string): Promise<number | null> {
  const target = `socket:[${inode}]`;
  let slice = performance.now();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (performance.now() - slice > SLICE_MS) {
      await yieldToEventLoop();
      slice = performance.now();
    }
    if (holds(pid, target)) return pid;
  }
  return null;
}

function holds(pid: number, target: string): boolean {
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === target) return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // closed meanwhile
        return false; // not ours to inspect (listing is allowed, reading links is not)
      }
    }
  } catch {
    // gone, not ours to inspect, or exited while we listed its fds
  }
  return false;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** An address as /proc/net/tcp prints it: 32-bit words in host byte order, as hex. */
function procAddress(hex: string): Uint8Array | null {
  if (hex.length !== 8 && hex.length !== 32) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const byte = parseInt(hex.slice(word * 8 + i * 2, word * 8 + i * 2 + 2), 16);
      bytes[word * 4 + (LITTLE_ENDIAN ? 3 - i : i)] = byte;
    }
  }
  return bytes;
}

/** 4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address becomes its IPv4 form. */
function normalizeIp(bytes: Uint8Array): Uint8Array {
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
  return mapped ? bytes.subarray(12) : bytes;
}

function isLoopback(address: Uint8Array): boolean {
  const ip = normalizeIp(address);
  return ip.length === 4 ? ip[0] === 127 : ip.subarray(0, 15).every((b) => b === 0) && ip[15] === 1;
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  const x = normalizeIp(a);
  const y = normalizeIp(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Parses an IPv4 or IPv6 address (brackets and a zone id allowed); null when it is neither. */
export function parseIp(text: string): Uint8Array | null {
  const host = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const bytes = v4.slice(1).map(Number);
    return bytes.every((b) => b <= 255) ? new Uint8Array(bytes) : null;
  }
  if (!host.includes(":")) return null;
  let groups: string[];
  const halves = host.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  // An embedded IPv4 address takes the last two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  let v4Tail: number[] = [];
  if (last?.includes(".")) {
    const embedded = parseIp(last);
    if (embedded === null || embedded.length !== 4) return null;
    (halves.length === 2 ? tail : head).pop();
    v4Tail = [...embedded];
  }
  const wanted = 8 - v4Tail.length / 2;
  if (halves.length === 2) {
    const missing = wanted - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...Array(missing).fill("0"), ...tail];
  } else groups = head;
  if (groups.length !== wanted || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const value = parseInt(g, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  bytes.set(v4Tail, 12);
  return bytes;
}
