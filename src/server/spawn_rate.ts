/**
 * A token bucket bounding how fast one connection may start processes, so a runaway or hostile client
 * cannot fork-bomb the host through `process/start`.
 *
 * @module
 */
import { RpcError } from "../protocol/errors.ts";

/** Allows `ratePerSecond` starts per second on average, with bursts up to the same number. */
export class SpawnRateLimiter {
  #tokens: number;
  #last = performance.now();
  readonly #rate: number;

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
    this.#tokens = ratePerSecond;
  }

  /** Takes one token, or throws `-32600` naming the limit and the flag that raises it. */
  take(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) {
      throw RpcError.invalidRequest(
        `process start rate limit exceeded (${this.#rate} per second per connection; raise it with --max-spawn-rate)`,
      );
    }
    this.#tokens -= 1;
  }
}
