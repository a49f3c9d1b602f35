/** Waiting for a wake-up, a timeout or an abort, whichever comes first. @module */
import { MAX_TIMER_MS } from "./timers.ts";

/**
 * Resolves when a function added to `waiters` is called (the waker calls every one), or after
 * `timeoutMs` (at most {@link MAX_TIMER_MS}: a longer timer fires at once, so the caller re-arms until its
 * deadline); rejects with the signal's reason on abort. Removes itself from `waiters` either way.
 */
export function waitForWake(waiters: Set<() => void>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      waiters.delete(done);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      waiters.delete(done);
      reject(signal.reason);
    };
    const timer = setTimeout(done, Math.min(timeoutMs, MAX_TIMER_MS));
    signal.addEventListener("abort", onAbort, { once: true });
    waiters.add(done);
  });
}
