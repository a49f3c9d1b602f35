/**
 * `deno task test`: installs the Debian packages the suite needs when it can (root with apt-get; one line
 * each), runs the whole suite and closes with a plain `N passed, N failed, N skipped` line counted from
 * deno's JUnit report (leaf test cases: steps count, the tests that hold them do not); when tests were
 * skipped for a package it could not install, a line before it names the package. Extra arguments go to
 * `deno test` (e.g. `--filter`). Named run_tests.ts so deno's test glob never runs it.
 *
 * @module
 */
import { REQUIREMENTS } from "../tests/support/requirements.ts";

const missing = await provision();

const junitPath = await Deno.makeTempFile({ prefix: "exec-server-junit-", suffix: ".xml" });
try {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--reporter=dot", `--junit-path=${junitPath}`, ...Deno.args],
    stdout: "inherit",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const status = await child.status;
  let xml = "";
  try {
    xml = await Deno.readTextFile(junitPath);
  } catch {
    // No report: deno failed before running tests (e.g. a type error).
  }
  const counts = countLeafCases(xml);
  if (status.code !== 0 && counts.failed === 0) counts.failed = 1;
  if (counts.skipped > 0 && missing.length > 0) {
    const packages = missing.map((r) => r.pkg).join(" ");
    console.log(
      `\nskipped: ${counts.skipped} (need ${
        missing.map((r) => `${r.pkg} for ${r.for}`).join(", ")
      }: apt-get install ${packages})`,
    );
  }
  console.log(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  Deno.exit(status.code);
} finally {
  await Deno.remove(junitPath).catch(() => {});
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts leaf `<testcase>`s: a case whose name prefixes others (`name > step`) is a group. */
function countLeafCases(xml: string): Counts {
  const cases: { name: string; failed: boolean; skipped: boolean; failureMessage: string }[] = [];
  const pattern = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(pattern)) {
    const attributes = match[1];
    const body = match[3] ?? "";
    const name = decodeXml(/\bname="([^"]*)"/.exec(attributes)?.[1] ?? "");
    const classname = decodeXml(/\bclassname="([^"]*)"/.exec(attributes)?.[1] ?? "");
    const failure = /<failure\b[^>]*?(?:message="([^"]*)")?/.exec(body);
    cases.push({
      name: `${classname}::${name}`,
      failed: failure !== null,
      skipped: /<skipped\b/.test(body),
      failureMessage: decodeXml(failure?.[1] ?? ""),
    });
  }
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const testCase of cases) {
    const isGroup = cases.some((other) => other !== testCase && other.name.startsWith(`${testCase.name} > `));
    if (isGroup) {
      // A group fails on its own only when the failure is not just "a step failed".
      if (testCase.failed && !/test steps? failed/.test(testCase.failureMessage)) counts.failed++;
      continue;
    }
    if (testCase.skipped) counts.skipped++;
    else if (testCase.failed) counts.failed++;
    else counts.passed++;
  }
  return counts;
}

function decodeXml(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll(
    "&apos;",
    "'",
  )
    .replaceAll("&amp;", "&");
}

/** Installs what is missing where this user can (root, apt-get); returns what is still missing. */
async function provision(): Promise<{ pkg: string; for: string }[]> {
  const absent = Object.values(REQUIREMENTS).filter((r) => !r.installed());
  if (absent.length === 0) return [];
  const canInstall = Deno.uid() === 0 && await succeeds("apt-get", ["--version"]);
  if (!canInstall) {
    for (const r of absent) {
      console.log(`deno task test: ${r.pkg} is not installed (${r.for}); not root, not installing`);
    }
    return absent;
  }
  let updated = false;
  for (const r of absent) {
    console.log(`deno task test: installing ${r.pkg} (for ${r.for})`);
    if (!updated) {
      updated = true;
      await succeeds("apt-get", ["update", "-qq"]);
    }
    if (!await succeeds("apt-get", ["install", "-y", "-qq", r.pkg], { DEBIAN_FRONTEND: "noninteractive" })) {
      console.log(`deno task test: installing ${r.pkg} failed`);
    }
  }
  return absent.filter((r) => !r.installed());
}

async function succeeds(command: string, args: string[], env: Record<string, string> = {}): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, env, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}
