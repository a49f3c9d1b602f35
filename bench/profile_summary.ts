/**
 * Summarises V8 `.cpuprofile` files (from `deno task bench --prof DIR`): self time per function and
 * per file, plus total (inclusive) time for the hottest frames.
 *
 * ```sh
 * deno run -A bench/profile_summary.ts DIR_OR_FILE... [--top N]
 * ```
 *
 * @module
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function label(n: Node): string {
  const f = n.callFrame;
  const file = f.url ? f.url.replace(/^.*\/(src|bench|ext|node_modules)\//, "$1/") : "";
  return `${f.functionName || "(anonymous)"} ${file}${file ? `:${f.lineNumber + 1}` : ""}`;
}

function summarise(p: Profile, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = (p.endTime - p.startTime) / 1000;
  const selfByLabel = new Map<string, number>();
  const inclByLabel = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const l = label(n);
    selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + us / 1000);
    const file = n.callFrame.url
      ? n.callFrame.url.replace(/^.*\/(src|bench|ext)\//, "$1/")
      : `(${n.callFrame.functionName})`;
    selfByFile.set(file, (selfByFile.get(file) ?? 0) + us / 1000);
    // Inclusive: charge every distinct label on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cl = label(byId.get(cur)!);
      if (seen.has(cl)) continue;
      seen.add(cl);
      inclByLabel.set(cl, (inclByLabel.get(cl) ?? 0) + us / 1000);
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) =>
      `  ${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`
    ).join("\n");
  return [
    `profile span ${total.toFixed(0)} ms`,
    "self time by function:",
    rows(selfByLabel),
    "self time by file:",
    rows(selfByFile),
    "inclusive time:",
    rows(inclByLabel),
  ].join("\n");
}

if (import.meta.main) {
  let top = 25;
  const paths: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    if (Deno.args[i] === "--top") top = Number(Deno.args[++i]);
    else paths.push(Deno.args[i]);
  }
  for (const path of paths) {
    const files = Deno.statSync(path).isDirectory
      ? [...Deno.readDirSync(path)].filter((e) => e.name.endsWith(".cpuprofile")).map((e) =>
        `${path}/${e.name}`
      )
      : [path];
    for (const file of files) {
      console.log(`== ${file}`);
      console.log(summarise(JSON.parse(Deno.readTextFileSync(file)), top));
    }
  }
}
