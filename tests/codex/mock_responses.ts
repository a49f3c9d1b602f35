/**
 * A scripted mock of the OpenAI Responses API (`POST /v1/responses`, SSE) for driving one real
 * Codex turn offline.
 *
 * The mock plays a list of tool calls, one per POST, then a final assistant message carrying a
 * sentinel. Which step to play is decided statelessly from the request: the number of the mock's own
 * call ids (`call_rc_<k>`) that already have an output in the request `input` is the next step's
 * index. This is robust to Codex retrying or re-sending history.
 *
 * @module
 */

/** What a step's argument builder can look at: the tool outputs Codex has sent back so far. */
export interface StepContext {
  /** Tool outputs of earlier steps, in step order (index = step index). */
  readonly outputs: readonly ToolOutput[];
}

/** A scripted `function_call` (JSON arguments, e.g. `exec_command`, `write_stdin`, `view_image`). */
export interface FunctionCallStep {
  kind: "function_call";
  /** Tool name as offered by Codex, e.g. `exec_command`. */
  name: string;
  /** Arguments object (serialised to the JSON string the API carries), or a builder using earlier outputs. */
  arguments: Record<string, unknown> | ((ctx: StepContext) => Record<string, unknown>);
}

/** A scripted `custom_tool_call` (freeform input, e.g. `apply_patch`). */
export interface CustomToolCallStep {
  kind: "custom_tool_call";
  name: string;
  /** Freeform input text, or a builder using earlier outputs. */
  input: string | ((ctx: StepContext) => string);
}

/** One scripted model action. */
export type ScriptedStep = FunctionCallStep | CustomToolCallStep;

/** A tool result Codex sent back to the model for one of the mock's calls. */
export interface ToolOutput {
  /** Index of the step in the script. */
  step: number;
  callId: string;
  /** Tool name of the step that produced it. */
  name: string;
  /** `function_call_output` or `custom_tool_call_output`. */
  type: string;
  /** Text of the output: the string itself, or the concatenated text parts of a content-item list. */
  text: string;
  /** The raw `output` field as received. */
  raw: unknown;
}

/** Options for {@linkcode startMockResponses}. */
export interface MockResponsesOptions {
  steps: readonly ScriptedStep[];
  /** Text of the final assistant message. Default {@linkcode DEFAULT_SENTINEL}. */
  sentinel?: string;
  /** When set, every raw request body is also written to `<dir>/request-<n>.json`. */
  saveDir?: string;
}

/** A running mock Responses server. */
export interface MockResponses {
  /** Value for `model_providers.<id>.base_url`, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  /** Every raw `POST /v1/responses` body, in arrival order. */
  readonly rawRequests: readonly string[];
  /** Requests that could not be answered (bad path, bad JSON, …), as messages. */
  readonly errors: readonly string[];
  /** Tool outputs for the mock's call ids, taken from all requests (first occurrence wins), in step order. */
  toolOutputs(): ToolOutput[];
  /** The step indexes played, one per POST, with `steps.length` meaning the final message. */
  readonly played: readonly number[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Default text of the final assistant message. */
export const DEFAULT_SENTINEL = "MOCK-TURN-COMPLETE-7f3a";

/** The mock's call id for step `index`. */
export function callIdFor(index: number): string {
  return `call_rc_${index + 1}`;
}

const OWN_CALL_ID = /^call_rc_(\d+)$/;

/** Starts the mock on 127.0.0.1 with an ephemeral port. */
export function startMockResponses(options: MockResponsesOptions): MockResponses {
  const steps = options.steps;
  const sentinel = options.sentinel ?? DEFAULT_SENTINEL;
  const rawRequests: string[] = [];
  const errors: string[] = [];
  const played: number[] = [];
  const outputs = new Map<number, ToolOutput>();

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/responses") {
      errors.push(`unexpected ${req.method} ${url.pathname}`);
      return new Response("not found", { status: 404 });
    }
    const body = await req.text();
    rawRequests.push(body);
    if (options.saveDir) {
      await Deno.writeTextFile(`${options.saveDir}/request-${rawRequests.length}.json`, body);
    }
    let parsed: { input?: unknown };
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      // Codex compresses bodies only for authenticated providers; ours has no auth.
      errors.push(`request body is not JSON (${req.headers.get("content-encoding") ?? "plain"}): ${err}`);
      return new Response("bad request", { status: 400 });
    }
    for (const out of extractToolOutputs(parsed.input, steps)) {
      if (!outputs.has(out.step)) outputs.set(out.step, out);
    }
    const inRequest = extractToolOutputs(parsed.input, steps);
    const next = new Set(inRequest.map((o) => o.step)).size;
    played.push(next);
    let item: Record<string, unknown>;
    try {
      item = next < steps.length ? stepItem(steps, next, inRequest) : finalMessage(sentinel);
    } catch (err) {
      errors.push(`building step ${next}: ${err instanceof Error ? err.message : err}`);
      item = finalMessage(`${sentinel} (script error: ${err})`);
    }
    return sseResponse(`resp_${rawRequests.length}`, item);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const addr = server.addr as Deno.NetAddr;
  return {
    baseUrl: `http://127.0.0.1:${addr.port}/v1`,
    rawRequests,
    errors,
    played,
    toolOutputs: () => [...outputs.values()].sort((a, b) => a.step - b.step),
    close: async () => {
      await server.shutdown();
    },
  };
}

/** Pulls the outputs for the mock's own call ids out of a request `input` array. */
export function extractToolOutputs(input: unknown, steps: readonly ScriptedStep[]): ToolOutput[] {
  if (!Array.isArray(input)) return [];
  const found: ToolOutput[] = [];
  for (const item of input) {
    if (item === null || typeof item !== "object") continue;
    const { type, call_id: callId, output } = item as Record<string, unknown>;
    if (type !== "function_call_output" && type !== "custom_tool_call_output") continue;
    const m = typeof callId === "string" ? OWN_CALL_ID.exec(callId) : null;
    if (!m) continue;
    const step = Number(m[1]) - 1;
    if (step < 0 || step >= steps.length) continue;
    found.push({
      step,
      callId: callId as string,
      name: steps[step].name,
      type,
      text: outputText(output),
      raw: output,
    });
  }
  return found;
}

/** The text of an `output` field: a plain string, or the text parts of a content-item list. */
export function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    return output
      .map((part) => {
        if (part && typeof part === "object") {
          const p = part as Record<string, unknown>;
          if (typeof p.text === "string") return p.text;
        }
        return "";
      })
      .filter((s) => s !== "")
      .join("\n");
  }
  if (output && typeof output === "object") {
    // Some versions wrap as {content, success}.
    const o = output as Record<string, unknown>;
    if ("content" in o) return outputText(o.content);
  }
  return output === undefined ? "" : JSON.stringify(output);
}

function stepItem(
  steps: readonly ScriptedStep[],
  index: number,
  seen: ToolOutput[],
): Record<string, unknown> {
  const step = steps[index];
  const byStep: ToolOutput[] = [];
  for (const o of seen) byStep[o.step] = o;
  const ctx: StepContext = { outputs: byStep };
  const callId = callIdFor(index);
  if (step.kind === "function_call") {
    const args = typeof step.arguments === "function" ? step.arguments(ctx) : step.arguments;
    // The API carries arguments as a JSON *string*.
    return { type: "function_call", call_id: callId, name: step.name, arguments: JSON.stringify(args) };
  }
  const input = typeof step.input === "function" ? step.input(ctx) : step.input;
  return { type: "custom_tool_call", call_id: callId, name: step.name, input };
}

function finalMessage(text: string): Record<string, unknown> {
  return {
    type: "message",
    role: "assistant",
    id: "msg_final",
    content: [{ type: "output_text", text }],
  };
}

function sseResponse(responseId: string, item: Record<string, unknown>): Response {
  const events = [
    { type: "response.created", response: { id: responseId } },
    { type: "response.output_item.done", item },
    {
      type: "response.completed",
      response: {
        id: responseId,
        usage: {
          input_tokens: 0,
          input_tokens_details: null,
          output_tokens: 0,
          output_tokens_details: null,
          total_tokens: 0,
        },
      },
    },
  ];
  const text = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}
