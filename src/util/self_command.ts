/**
 * How to start this program again (for sandboxed helper subprocesses), from source, the bundle, or a
 * compiled binary, without reading the source tree.
 *
 * @module
 */

let override: string[] | null = null;

/** True when running as a `deno compile` binary. */
export function isCompiledBinary(): boolean {
  const exe = Deno.execPath().split("/").at(-1) ?? "";
  return !/^deno(\.exe)?$/.test(exe);
}

/**
 * Overrides what {@link selfCommand} returns. Tests that host a server in-process point it at `main.ts`
 * (their own main module is the test file).
 */
export function setSelfCommand(argv: string[] | null): void {
  override = argv;
}

/** The argv prefix that runs this program: `[binary]` or `[deno, "run", "-A", <main module>]`. */
export function selfCommand(): string[] {
  if (override) return [...override];
  if (isCompiledBinary()) return [Deno.execPath()];
  const main = Deno.mainModule.startsWith("file:")
    ? decodeURIComponent(new URL(Deno.mainModule).pathname)
    : Deno.mainModule;
  return [Deno.execPath(), "run", "-A", "--no-prompt", main];
}
