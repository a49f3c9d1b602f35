/**
 * scripts/check_layers.ts run as `deno task check` runs it: on small temporary trees that break one rule
 * each (it must fail and name file, import and rule) or break none (it must pass), and on this repository.
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("../scripts/check_layers.ts", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

async function runCheck(root?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", SCRIPT, ...(root === undefined ? [] : [root])],
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** A temporary tree with `files` (root-relative path to text); removed after `fn`. */
async function withTree<T>(files: Record<string, string>, fn: (root: string) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "layer-check-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${root}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text);
    }
    return await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A small tree whose arrows all point the right way. */
const GOOD_TREE: Record<string, string> = {
  "mod.ts": 'export { serve } from "./src/server/serve.ts";\n',
  "src/util/log.ts": "export const log = 1;\n",
  "src/protocol/errors.ts": 'import { log } from "../util/log.ts";\nexport const code = log;\n',
  "src/server/context.ts": "export interface Sink { notify(): void }\n",
  "src/server/serve.ts": [
    'import type { Sink } from "./context.ts";',
    "import {",
    "  run,",
    '} from "../process/run.ts";',
    "export const serve = (s: Sink) => run(s);",
    "",
  ].join("\n"),
  "src/process/run.ts": [
    'import { code } from "../protocol/errors.ts";',
    '// a comment naming import("../server/context.ts") is not an import',
    "export const run = (_: unknown) => code;",
    "",
  ].join("\n"),
};

Deno.test("check_layers passes a tree whose arrows all point the right way", async () => {
  const result = await withTree(GOOD_TREE, runCheck);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /check_layers: ok/);
});

Deno.test("check_layers fails a domain importing the server, naming file, line, import and rule", async () => {
  const tree = {
    ...GOOD_TREE,
    "src/process/run.ts": [
      'import { code } from "../protocol/errors.ts";',
      'import type { Sink } from "../server/context.ts";',
      "export const run = (_: Sink) => code;",
      "",
    ].join("\n"),
  };
  const result = await withTree(tree, runCheck);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /src\/process\/run\.ts:2: imports "\.\.\/server\/context\.ts": a domain never imports server/,
  );
  // server -> process and process -> server: a cycle of rooms, reported with where each arrow starts.
  assert.match(
    result.stderr,
    /rooms process, server form a cycle: process -> server \(src\/process\/run\.ts:2\)/,
  );
});

Deno.test("check_layers reads export-from and dynamic imports too", async () => {
  const tree = {
    ...GOOD_TREE,
    "src/protocol/reexport.ts": 'export { run } from "../process/run.ts";\n',
    "src/rpc/lazy.ts": 'export const load = () => import("../client/api.ts");\n',
    "src/client/api.ts": "export const api = 1;\n",
  };
  const result = await withTree(tree, runCheck);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /src\/protocol\/reexport\.ts:1: imports "\.\.\/process\/run\.ts": protocol imports no domain/,
  );
  assert.match(
    result.stderr,
    /src\/rpc\/lazy\.ts:1: imports "\.\.\/client\/api\.ts": rpc may import only protocol, util/,
  );
});

Deno.test("check_layers fails a domain importing another domain not listed in DOMAIN_ARROWS", async () => {
  const tree = {
    ...GOOD_TREE,
    "src/fs/local.ts": 'import { plan } from "../sandbox/plan.ts";\nexport const local = plan;\n',
    "src/sandbox/plan.ts": "export const plan = 1;\n",
  };
  const result = await withTree(tree, runCheck);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /src\/fs\/local\.ts:1: imports "\.\.\/sandbox\/plan\.ts": domain fs may not import domain sandbox/,
  );
});

Deno.test("check_layers fails a file under src/ longer than 450 lines", async () => {
  const tree = { ...GOOD_TREE, "src/util/long.ts": "export const x = 1;\n".repeat(451) };
  const result = await withTree(tree, runCheck);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /src\/util\/long\.ts: 451 lines: no file under src\/ may have more than 450/);
  const fits = await withTree(
    { ...GOOD_TREE, "src/util/long.ts": "export const x = 1;\n".repeat(450) },
    runCheck,
  );
  assert.equal(fits.code, 0, fits.stderr);
});

Deno.test("check_layers passes this repository", async () => {
  const result = await runCheck(REPO);
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("check_layers fails a bare package import, which only our import map resolves", async () => {
  const tree = {
    ...GOOD_TREE,
    "src/protocol/schema.ts": 'import * as z from "zod/mini";\nexport const s = z;\n',
    "src/util/ok.ts":
      'export * from "npm:zod@4.6.7/mini";\nimport { join } from "node:path";\nexport { join };\n',
  };
  const result = await withTree(tree, runCheck);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /src\/protocol\/schema\.ts:1: imports "zod\/mini": a bare package name/);
  assert.doesNotMatch(result.stderr, /src\/util\/ok\.ts/);
});
