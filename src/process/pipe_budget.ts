/**
 * How many stdout/stderr pipes may be enlarged to {@link PIPE_CAPACITY}, so that this server never pushes
 * its user over the kernel's pipe quota.
 *
 * @module
 */

/** Capacity asked for stdout and stderr pipes: fewer wake-ups for bulk output than the default 64 KiB. */
export const PIPE_CAPACITY = 1024 * 1024;

/**
 * How many enlarged pipes we may hold. Without CAP_SYS_RESOURCE/CAP_SYS_ADMIN, a user whose pipes exceed
 * /proc/sys/fs/pipe-user-pages-soft gets one-page pipes for every new pipe (in every process of that user,
 * shell pipelines included) until usage drops. So we use at most half of that quota for enlarged pipes and
 * leave the rest at the default size.
 */
export const pipeBudget = {
  left: null as number | null,
  take(): boolean {
    this.left ??= initialPipeBudget();
    if (this.left <= 0) return false;
    this.left--;
    return true;
  },
  give(count: number): void {
    if (this.left !== null) this.left += count;
  },
};

function initialPipeBudget(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const caps = BigInt("0x" + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"));
    const CAP_SYS_ADMIN = 1n << 21n;
    const CAP_SYS_RESOURCE = 1n << 24n;
    if (caps & (CAP_SYS_ADMIN | CAP_SYS_RESOURCE)) return Infinity; // the quota does not apply
    const softPages = Number(Deno.readTextFileSync("/proc/sys/fs/pipe-user-pages-soft").trim());
    if (!Number.isFinite(softPages)) return 0;
    if (softPages === 0) return Infinity; // no soft limit
    return Math.floor((softPages * 4096) / 2 / PIPE_CAPACITY);
  } catch {
    return 0; // cannot tell: keep the default size
  }
}
