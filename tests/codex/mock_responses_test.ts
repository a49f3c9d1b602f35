import assert from "node:assert/strict";
import { callIdFor, DEFAULT_SENTINEL, type ScriptedStep, startMockResponses } from "./mock_responses.ts";
import { sessionIdFrom } from "./scenarios.ts";

/** Parses the SSE body of one mock answer into its events. */
// deno-lint-ignore no-explicit-any -- raw JSON from the mock server
async function post(baseUrl: string, input: unknown[]): Promise<Record<string, any>[]> {
  const res = await fetch(`${baseUrl}/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-5.5", input }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const text = await res.text();
  return text.trim().split("\n\n").map((frame) => {
    const [eventLine, dataLine] = frame.split("\n");
    const data = JSON.parse(dataLine.slice("data: ".length));
    assert.equal(eventLine, `event: ${data.type}`);
    return data;
  });
}

const steps: ScriptedStep[] = [
  { kind: "function_call", name: "exec_command", arguments: { cmd: "cat", tty: true } },
  {
    kind: "function_call",
    name: "write_stdin",
    arguments: (ctx) => {
      const id = sessionIdFrom(ctx.outputs[0].text);
      if (id === undefined) throw new Error("no session id");
      return { session_id: id, chars: "x\n" };
    },
  },
  { kind: "custom_tool_call", name: "apply_patch", input: "*** Begin Patch\n*** End Patch\n" },
];

Deno.test("mock Responses API picks the next step by counting its own call ids in the input", async () => {
  const mock = startMockResponses({ steps });
  try {
    let events = await post(mock.baseUrl, [{ type: "message", role: "user", content: [] }]);
    assert.deepEqual(events.map((e) => e.type), [
      "response.created",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(events[1].item, {
      type: "function_call",
      call_id: "call_rc_1",
      name: "exec_command",
      arguments: JSON.stringify({ cmd: "cat", tty: true }),
    });

    const history: unknown[] = [
      // Outputs for foreign call ids do not count.
      { type: "function_call_output", call_id: "call_other", output: "x" },
      { type: "function_call_output", call_id: callIdFor(0), output: "Process running with session ID 77\n" },
    ];
    events = await post(mock.baseUrl, history);
    assert.equal(events[1].item.name, "write_stdin");
    assert.deepEqual(JSON.parse(events[1].item.arguments), { session_id: 77, chars: "x\n" });

    history.push({
      type: "function_call_output",
      call_id: callIdFor(1),
      output: [{ type: "input_text", text: "ok" }],
    });
    events = await post(mock.baseUrl, history);
    assert.deepEqual(events[1].item, {
      type: "custom_tool_call",
      call_id: "call_rc_3",
      name: "apply_patch",
      input: "*** Begin Patch\n*** End Patch\n",
    });

    history.push({ type: "custom_tool_call_output", call_id: callIdFor(2), output: "Success." });
    events = await post(mock.baseUrl, history);
    assert.equal(events[1].item.type, "message");
    assert.equal(events[1].item.content[0].text, DEFAULT_SENTINEL);

    assert.equal(mock.rawRequests.length, 4);
    assert.deepEqual(mock.played, [0, 1, 2, 3]);
    assert.deepEqual(mock.toolOutputs().map((o) => [o.step, o.name, o.text]), [
      [0, "exec_command", "Process running with session ID 77\n"],
      [1, "write_stdin", "ok"],
      [2, "apply_patch", "Success."],
    ]);
    assert.deepEqual(mock.errors, []);
  } finally {
    await mock.close();
  }
});

Deno.test("mock Responses API ends the turn with a script error when a step cannot be built", async () => {
  const mock = startMockResponses({ steps });
  try {
    const history = [{
      type: "function_call_output",
      call_id: callIdFor(0),
      output: "Process exited with code 0\n",
    }];
    const events = await post(mock.baseUrl, history);
    assert.equal(events[1].item.type, "message");
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0], /building step 1/);
  } finally {
    await mock.close();
  }
});
