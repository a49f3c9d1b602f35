import assert from "node:assert/strict";
import { resolveSigV4Config, signV4 } from "../src/remote/sigv4.ts";

// The AWS SigV4 test suite's example credentials, scope and clock.
const EXAMPLE = {
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  region: "us-east-1",
  service: "service",
};
const NOW = new Date("2015-08-30T12:36:00Z");

Deno.test("SigV4 reproduces the AWS test suite's get-vanilla and get-vanilla-query-order-key-case", () => {
  const vanilla = signV4({ method: "GET", url: new URL("https://example.amazonaws.com/") }, EXAMPLE, NOW);
  assert.equal(vanilla["x-amz-date"], "20150830T123600Z");
  assert.equal(
    vanilla.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
      "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  );
  const query = signV4(
    { method: "GET", url: new URL("https://example.amazonaws.com/?Param2=value2&Param1=value1") },
    EXAMPLE,
    NOW,
  );
  assert.match(
    query.authorization,
    /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/,
  );
});

Deno.test("SigV4 signs content-type for a POST and adds the session token of temporary credentials", () => {
  const signed = signV4(
    {
      method: "POST",
      url: new URL("http://127.0.0.1:8080/cloud/environment/e/direct/register"),
      headers: { "content-type": "application/json" },
      body: '{"transport":"direct_jsonrpc_v1"}',
    },
    { ...EXAMPLE, credentials: { ...EXAMPLE.credentials, sessionToken: "tok" } },
    NOW,
  );
  assert.match(signed.authorization, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/);
  assert.equal(signed["x-amz-security-token"], "tok");
});

Deno.test("SigV4 credentials and region: environment first, then the shared files' profile", async () => {
  const fromEnv = await resolveSigV4Config({ service: "execute-api" }, {
    AWS_ACCESS_KEY_ID: "A",
    AWS_SECRET_ACCESS_KEY: "S",
    AWS_REGION: "eu-west-1",
    HOME: "/nonexistent",
  });
  assert.deepEqual(fromEnv, {
    credentials: { accessKeyId: "A", secretAccessKey: "S", sessionToken: undefined },
    region: "eu-west-1",
    service: "execute-api",
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/credentials`,
      "[dev]\naws_access_key_id = B\naws_secret_access_key = T\n",
    );
    await Deno.writeTextFile(`${dir}/config`, "[profile dev]\nregion = ap-south-1\n");
    const fromFiles = await resolveSigV4Config({ service: "x", profile: "dev" }, {
      AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
      AWS_CONFIG_FILE: `${dir}/config`,
    });
    assert.equal(fromFiles.credentials.accessKeyId, "B");
    assert.equal(fromFiles.region, "ap-south-1");
    await assert.rejects(resolveSigV4Config({ service: "x" }, { HOME: dir }), /no AWS credentials/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
