/** A one-line progress bar on stderr (only used when stderr is a terminal). @module */

/** Redraws `[#####.....] 42% 12.3 MiB/29.0 MiB` in place, at most every 100 ms. */
export class ProgressBar {
  readonly #total: number;
  #lastDraw = 0;

  constructor(total: number) {
    this.#total = total;
  }

  /** Reports `done` bytes. */
  update(done: number): void {
    const now = performance.now();
    if (now - this.#lastDraw < 100 && done < this.#total) return;
    this.#lastDraw = now;
    const fraction = this.#total === 0 ? 1 : done / this.#total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${
      mib(done)
    }/${mib(this.#total)}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
  }

  /** Ends the line. */
  finish(): void {
    this.update(this.#total);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
