/**
 * How a client (re)opens its transport: Codex's two transport kinds (WebSocket URL, stdio command) plus
 * an arbitrary transport factory (in-memory `local`, tests).
 *
 * @module
 */
import type { MessageTransport } from "../rpc/transport.ts";
import { spawnStdioServer, type StdioCommand } from "./stdio_command.ts";
import { connectWebSocketTransport, type WebSocketConnectOptions } from "./websocket_connect.ts";

/** Where the exec-server is (Codex's `ExecServerTransportParams`, plus extensions). */
export type ExecServerTransportParams =
  | ({ kind: "websocket"; url: string } & WebSocketConnectOptions)
  | { kind: "stdio"; command: StdioCommand }
  | {
    kind: "transport";
    /** Opens a fresh transport (called again on reconnect). */
    open: () => MessageTransport | Promise<MessageTransport>;
    /** Whether a closed transport may be replaced by a fresh one (default false: one-shot). */
    reconnectable?: boolean;
    description?: string;
  };

/** An open link: the transport and how to dispose of what backs it. */
export interface OpenLink {
  transport: MessageTransport;
  /** Ends what backs the transport (a stdio child's process group). */
  dispose(): Promise<void>;
  /** Extra context for a failed handshake (a stdio child's last stderr lines). */
  diagnostics(): string;
}

/** Opens links for one transport configuration. */
export interface Connector {
  readonly kind: ExecServerTransportParams["kind"];
  /** WebSocket connections can be replaced after a close; stdio children are one-shot (as in Codex). */
  readonly reconnectable: boolean;
  /** A short description for messages (`ws://...`, the program name). */
  readonly description: string;
  open(): Promise<OpenLink>;
}

/** The connector for `params`. */
export function connectorFor(params: ExecServerTransportParams): Connector {
  switch (params.kind) {
    case "websocket":
      return {
        kind: "websocket",
        reconnectable: true,
        description: params.url,
        async open() {
          const transport = await connectWebSocketTransport(params.url, params);
          // Waits for the server's close frame: a CLI that exits right after leaves a clean close behind.
          return { transport, dispose: () => transport.closeAndWait(), diagnostics: () => "" };
        },
      };
    case "stdio":
      return {
        kind: "stdio",
        reconnectable: false,
        description: [params.command.program, ...(params.command.args ?? [])].join(" "),
        open() {
          const spawned = spawnStdioServer(params.command);
          return Promise.resolve({
            transport: spawned.transport,
            dispose: () => spawned.terminate(),
            diagnostics: () => spawned.stderrTail(),
          });
        },
      };
    case "transport":
      return {
        kind: "transport",
        reconnectable: params.reconnectable ?? false,
        description: params.description ?? "exec-server transport",
        async open() {
          const transport = await params.open();
          return { transport, dispose: () => Promise.resolve(transport.close()), diagnostics: () => "" };
        },
      };
  }
}
