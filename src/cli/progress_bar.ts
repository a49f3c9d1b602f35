/** A one-line progress bar per file on stderr (only used when stderr is a terminal). @module */

/** Redraws `name [#####.....] 42% 12.3 MiB/29.0 MiB 3.1 MiB/s ETA 0:05` in place, at most every 100 ms. */
export class ProgressBar {
  readonly #name: string;
  readonly #total: number;
  readonly #started = performance.now();
  #lastDraw = 0;

  constructor(name: string, total: number) {
    this.#name = name;
    this.#total = total;
  }

  /** Reports `done` bytes. */
  update(done: number): void {
    const now = performance.now();
    if (now - this.#lastDraw < 100 && done < this.#total) return;
    this.#lastDraw = now;
    const line = formatProgress(this.#name, done, this.#total, (now - this.#started) / 1000);
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
  }

  /** Ends the line. */
  finish(): void {
    this.#lastDraw = 0;
    this.update(this.#total);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}

/** One progress line: name, bar, percentage, bytes, rate and the time left (or taken, when done). */
export function formatProgress(name: string, done: number, total: number, elapsedSeconds: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const width = 20;
  const filled = Math.round(fraction * width);
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const remaining = done >= total ? elapsedSeconds : rate > 0 ? (total - done) / rate : NaN;
  const eta = done >= total ? clock(remaining) : `ETA ${clock(remaining)}`;
  return `${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${
    mib(done)
  }/${mib(total)} ${mib(rate)}/s ${eta}`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `m:ss` (or `h:mm:ss`); `--:--` when unknown. */
function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}
