/**
 * The `writeId`s of one process's `process/write`s, so a retried write (a client resending after a
 * dropped connection) is not written twice. Codex 0.171 keeps every id; we keep the latest
 * {@link WRITE_IDS_REMEMBERED}, far more than a client has in flight, so the memory stays bounded.
 *
 * @module
 */

export const WRITE_IDS_REMEMBERED = 4096;

/** A bounded set of seen write ids, forgetting the oldest first. */
export class WriteIds {
  readonly #ids = new Set<string>();

  has(writeId: string): boolean {
    return this.#ids.has(writeId);
  }

  remember(writeId: string): void {
    this.#ids.add(writeId);
    if (this.#ids.size > WRITE_IDS_REMEMBERED) {
      // A Set iterates in insertion order: the first is the oldest.
      this.#ids.delete(this.#ids.values().next().value!);
    }
  }
}
