import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs } from "../src/cli/parse_args.ts";

const OPTIONS = {
  listen: { type: "string", short: "l" },
  config: { type: "string" },
  flag: { type: "boolean" },
  tty: { type: "boolean", short: "t" },
  help: { type: "boolean", short: "h" },
  host: { type: "string", multiple: true },
  verbose: { type: "boolean", short: "v", multiple: true },
} as const;

const PIECES = [
  "--listen",
  "-l",
  "--config",
  "--flag",
  "--flag=1",
  "--flag=",
  "-t",
  "-h",
  "-th",
  "-tl",
  "-lt",
  "-tlx",
  "-vvt",
  "-x",
  "-xy",
  "--host",
  "--host=a",
  "--verbose",
  "--unknown",
  "--listen=",
  "--listen=a=b",
  "--listen=-x",
  "--=x",
  "--",
  "-",
  "--__proto__",
  "value",
  "-dash",
  "--long-dash",
  "x y",
  "",
];

function outcome(parse: () => { values: unknown; positionals: string[] }): string {
  try {
    const { values, positionals } = parse();
    return JSON.stringify({ values: { ...values as object }, positionals });
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
}

Deno.test("parseArgs matches node:util parseArgs (strict) on random command lines", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 5000; i++) {
    const args = Array.from(
      { length: Math.floor(random() * 5) },
      () => PIECES[Math.floor(random() * PIECES.length)],
    );
    for (const allowPositionals of [false, true]) {
      const expected = outcome(() =>
        nodeParseArgs({ args, options: OPTIONS, strict: true, allowPositionals }) as {
          values: unknown;
          positionals: string[];
        }
      );
      const actual = outcome(() => parseArgs({ args, options: OPTIONS, allowPositionals }));
      assert.equal(actual, expected, `args ${JSON.stringify(args)}, allowPositionals ${allowPositionals}`);
    }
  }
});

Deno.test("parseArgs types: strings, booleans and multiples", () => {
  const { values, positionals } = parseArgs({
    args: ["--listen", "stdio", "-t", "--host", "a", "--host=b", "--", "-x"],
    options: OPTIONS,
    allowPositionals: true,
  });
  const listen: string | undefined = values.listen;
  const tty: boolean | undefined = values.tty;
  const hosts: string[] | undefined = values.host;
  assert.equal(listen, "stdio");
  assert.equal(tty, true);
  assert.deepEqual(hosts, ["a", "b"]);
  assert.deepEqual(positionals, ["-x"]);
});

Deno.test("src/util/path.ts matches node:path (posix) on random paths", async () => {
  const nodePath = await import("node:path");
  const ours = await import("../src/util/path.ts");
  const parts = [
    "",
    "/",
    "//",
    "a",
    "b",
    ".",
    "..",
    "a/",
    "/a",
    "a//b",
    "../x",
    "./y",
    "/..",
    "x/../..",
    "c/./d/",
  ];
  let seed = 99;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 3000; i++) {
    const args = Array.from(
      { length: 1 + Math.floor(random() * 4) },
      () => parts[Math.floor(random() * parts.length)],
    );
    const one = args.join("");
    assert.equal(ours.join(...args), nodePath.posix.join(...args), `join ${JSON.stringify(args)}`);
    assert.equal(ours.resolve(...args), nodePath.posix.resolve(...args), `resolve ${JSON.stringify(args)}`);
    assert.equal(ours.dirname(one), nodePath.posix.dirname(one), `dirname ${one}`);
    assert.equal(ours.basename(one), nodePath.posix.basename(one), `basename ${one}`);
    assert.equal(ours.isAbsolute(one), nodePath.posix.isAbsolute(one), `isAbsolute ${one}`);
  }
});
