/** `process/signal`'s delivery: to the process group, else the root alone. @module */
import { RpcError } from "../protocol/errors.ts";
import { SIGNAL_NAMES, type SignalName } from "../protocol/process.ts";

/** Sends `name` to the group led by `pid` (falling back to `pid` alone); a vanished process is a no-op. */
export function signalGroup(pid: number, name: SignalName): void {
  try {
    Deno.kill(-pid, SIGNAL_NAMES[name]);
  } catch (error) {
    try {
      Deno.kill(pid, SIGNAL_NAMES[name]);
    } catch (second) {
      // ESRCH: the root has already exited and been reaped, but `exited` is not recorded yet
      // (it waits up to exitDrainMs for the pipes, e.g. held by a `setsid` descendant). The
      // process is gone, so this is the "already exited" no-op, not an internal error.
      if (second instanceof Deno.errors.NotFound) return;
      throw RpcError.internal(`failed to signal process: ${(error as Error).message}`);
    }
  }
}
