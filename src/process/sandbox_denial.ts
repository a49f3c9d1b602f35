/**
 * Whether a sandboxed process was likely refused by its sandbox, as Codex decides it: a non-zero exit
 * whose output names a denial (`Read-only file system`, `Permission denied`, ...), or death by SIGSYS
 * (a seccomp kill). A plain failure (`exit 1` with other words) is not a denial.
 *
 * @module
 */

const DENIAL_WORDS = [
  "operation not permitted",
  "permission denied",
  "read-only file system",
  "seccomp",
  "sandbox",
  "landlock",
  "failed to write file",
];
const LONGEST_WORD = Math.max(...DENIAL_WORDS.map((w) => w.length));
const SIGSYS_EXIT = 128 + 31;
const decoder = new TextDecoder();

/** Watches one sandboxed process's output for denial words (the tail of each chunk carries over). */
export class SandboxDenialWatch {
  #seen = false;
  #carry = "";

  /** Feeds output bytes (any stream). */
  observe(bytes: Uint8Array): void {
    if (this.#seen) return;
    const text = (this.#carry + decoder.decode(bytes)).toLowerCase();
    if (DENIAL_WORDS.some((word) => text.includes(word))) {
      this.#seen = true;
      this.#carry = "";
      return;
    }
    // A word split across two chunks is found with the next one.
    this.#carry = text.slice(-(LONGEST_WORD - 1));
  }

  /** The verdict once the process exited with `exitCode`. */
  deniedAt(exitCode: number): boolean {
    if (exitCode === 0) return false;
    return this.#seen || exitCode === SIGSYS_EXIT;
  }
}
