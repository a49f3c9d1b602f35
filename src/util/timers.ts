/**
 * Timer limits shared by every room.
 *
 * @module
 */

/** The longest delay `setTimeout` honours (2^31 - 1 ms, ~24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
