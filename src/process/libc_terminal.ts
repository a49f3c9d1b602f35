/**
 * Pseudo-terminal calls libc offers and Deno does not: allocating a pty master, its window size, and the
 * slave's termios (end-of-file character, canonical mode).
 *
 * @module
 */
import { libc, LibcError, O_CLOEXEC, O_NONBLOCK, O_RDWR } from "./libc.ts";

// Linux open(2) flag and ioctl/termios constants (asm-generic, same on x86_64 and aarch64).
const O_NOCTTY = 0o400;
const TIOCSWINSZ = 0x5414;
const TCGETS_VEOF_OFFSET = 17 + 4; // c_cc starts at byte 17 of struct termios; VEOF is index 4
const TERMIOS_LFLAG_OFFSET = 12;
const ICANON = 0o2;
/** struct termios, allocated generously. */
const TERMIOS_BYTES = 128;

/**
 * Allocates a pty master and unlocks its slave. The master is close-on-exec (it never leaks into any child)
 * and non-blocking (reads and writes on it never stall the event loop). The slave is not opened here; the
 * child opens it by path, which makes it its controlling terminal.
 */
export function openPtyMaster(): { fd: number; slavePath: string } {
  const c = libc();
  const fd = c.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw new Error("posix_openpt failed: cannot allocate a pseudo-terminal");
  const name = new Uint8Array(256);
  if (c.grantpt(fd) !== 0 || c.unlockpt(fd) !== 0) {
    c.close(fd);
    throw new Error("grantpt/unlockpt failed on a new pseudo-terminal");
  }
  const rc = c.ptsname_r(fd, name, BigInt(name.length));
  if (rc !== 0) {
    c.close(fd);
    throw new LibcError("ptsname_r", rc);
  }
  return { fd, slavePath: new TextDecoder().decode(name.subarray(0, name.indexOf(0))) };
}

/** Sets the terminal size (`TIOCSWINSZ` on the master); the kernel sends SIGWINCH to the foreground group. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint16Array([rows, cols, 0, 0]);
  if (libc().ioctl(fd, BigInt(TIOCSWINSZ), ws) !== 0) throw new Error(`TIOCSWINSZ failed on fd ${fd}`);
}

/**
 * The terminal's end-of-file character (termios `c_cc[VEOF]`, normally ^D) and whether canonical mode is on
 * (outside it, VEOF is just a byte). Read from the master, which on Linux reports the slave's termios.
 */
export function terminalEof(fd: number): { veof: number; canonical: boolean } {
  const termios = new Uint8Array(TERMIOS_BYTES);
  if (libc().tcgetattr(fd, termios) !== 0) return { veof: 0x04, canonical: true };
  const lflag = new DataView(termios.buffer).getUint32(TERMIOS_LFLAG_OFFSET, true);
  return { veof: termios[TCGETS_VEOF_OFFSET] || 0x04, canonical: (lflag & ICANON) !== 0 };
}
