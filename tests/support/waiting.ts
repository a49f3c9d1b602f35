/**
 * Bounded waiting for tests: a promise with a deadline, and a poll for conditions nothing announces
 * (such as /proc state). Both fail with what they waited for.
 *
 * @module
 */

/** Rejects after `ms` (with `what` in the message); the timer never outlives the promise. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `condition` every 10 ms until it holds, for conditions no event announces (cheap /proc reads);
 * fails with `what` after `timeoutMs`.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
