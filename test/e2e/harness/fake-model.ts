// A tiny OpenAI-compatible chat-completions server for driving real OpenClaw agent turns offline.
//
// Contract (as OpenClaw 2026.9.6 uses it): POST /v1/chat/completions with `stream: true`; the reply is
// SSE `chat.completion.chunk` deltas, then a chunk with finish_reason, then a usage chunk, then
// `data: [DONE]`. Non-streaming requests get a plain `chat.completion` object.
//
// Behaviour per request:
//   * the last assistant message carries tool_calls      -> final text ("FAKE_FINAL: ...")
//   * no tools offered (e.g. compaction summary request) -> final text
//   * the current user turn contains "[[fake:text]]"      -> final text
//   * the current user turn contains "[[fake:tool=exec]]" -> one `exec {"command":"echo harness-exec-ok"}` call
//   * the current user turn contains "[[fake:spawn]]"     -> one sub-agent spawn: `tool_call` with
//     `{id:"sessions_spawn", args:{task, label:"harness-child"}}` (Tool Search hides sessions_spawn itself)
//   * otherwise                                          -> one tool call `ls {"path":"."}` (harmless, valid)
// The decision looks at the LAST ASSISTANT message, not at the last message: OpenClaw appends runtime-context
// `user` messages after tool results, so "last message is a tool result" is never reliably true.
//
// Safety valve: after `maxToolCalls` tool-call answers (default 20, env FAKE_MAX_TOOL_REQUESTS) every further
// request gets final text, so a misbehaving loop cannot spin for minutes.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeModelRequestRecord {
  /** 1-based sequence number. */
  n: number;
  stream: boolean;
  /** What the fake answered with. */
  answer: "tool_call" | "text";
  /** The tool called (with answer "tool_call"). */
  tool?: string;
  messageCount: number;
  toolCount: number;
}

export interface FakeModel {
  port: number;
  /** Base URL to put into `models.providers.<id>.baseUrl`, e.g. http://127.0.0.1:1234/v1 */
  url: string;
  /** Number of chat-completion requests served so far. */
  requests(): number;
  /** One record per chat-completion request, oldest first. */
  log(): FakeModelRequestRecord[];
  close(): Promise<void>;
}

export interface FakeModelOptions {
  host?: string;
  port?: number;
  maxToolCalls?: number;
  /** Tool to call on a normal turn. Default `ls` with `{"path":"."}`. */
  toolName?: string;
  toolArgs?: Record<string, unknown>;
  modelId?: string;
}

type ChatMessage = {
  role?: string;
  content?: unknown;
  tool_calls?: unknown[];
};

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string"
          ? (p as { text: string }).text
          : "",
      )
      .join("\n");
  }
  return "";
}

function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const host = options.host ?? "127.0.0.1";
  const envMax = Number(process.env.FAKE_MAX_TOOL_REQUESTS);
  const maxToolCalls = options.maxToolCalls ?? (Number.isFinite(envMax) && envMax >= 0 ? envMax : 20);
  const toolName = options.toolName ?? "ls";
  const toolArgs = JSON.stringify(options.toolArgs ?? { path: "." });
  const defaultModel = options.modelId ?? "fake-model";

  let count = 0;
  let toolCallsIssued = 0;
  const records: FakeModelRequestRecord[] = [];

  type Decision = { answer: "tool_call" | "text"; text: string; tool?: { name: string; args: string } };

  /** A tool the current user turn asks for by directive, if the request offers it. */
  function directedTool(currentTurn: string, offered: (name: string) => boolean): Decision["tool"] {
    if (currentTurn.includes("[[fake:tool=exec]]") && offered("exec")) {
      return { name: "exec", args: JSON.stringify({ command: "echo harness-exec-ok" }) };
    }
    if (currentTurn.includes("[[fake:spawn]]") && offered("tool_call")) {
      // The child's task carries no directive, so the child runs a plain turn and does not spawn again.
      const args = { task: "Child turn: list the workspace, then answer.", label: "harness-child" };
      return { name: "tool_call", args: JSON.stringify({ id: "sessions_spawn", args }) };
    }
    return undefined;
  }

  function decide(body: Record<string, unknown>): Decision {
    const messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
    const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : [];
    let lastAssistant = -1;
    for (let i = messages.length - 1; i >= 0; i--) {
      if (messages[i]?.role === "assistant") {
        lastAssistant = i;
        break;
      }
    }
    const assistant = lastAssistant >= 0 ? messages[lastAssistant] : undefined;
    if (assistant && Array.isArray(assistant.tool_calls) && assistant.tool_calls.length > 0) {
      const toolResult = messages.slice(lastAssistant + 1).find((m) => m.role === "tool");
      const seen = toolResult ? textOf(toolResult.content).replace(/\s+/g, " ").slice(0, 60) : "none";
      return { answer: "text", text: `FAKE_FINAL: turn complete (tool result seen: ${seen})` };
    }
    // Directives count only in the user messages after the last assistant message (the current turn).
    const currentTurn = messages
      .slice(lastAssistant + 1)
      .filter((m) => m.role === "user")
      .map((m) => textOf(m.content))
      .join("\n");
    const offered = (name: string) => tools.some((t) => t?.function?.name === name);
    const plain: Decision = { answer: "text", text: "FAKE_FINAL: plain answer without tools" };
    if (currentTurn.includes("[[fake:text]]")) return plain;
    const directed = directedTool(currentTurn, offered);
    if (directed && toolCallsIssued < maxToolCalls) return { answer: "tool_call", text: "", tool: directed };
    if (!offered(toolName)) return plain;
    if (toolCallsIssued >= maxToolCalls) {
      return { answer: "text", text: "FAKE_FINAL: safety valve reached, no more tool calls" };
    }
    return { answer: "tool_call", text: "", tool: { name: toolName, args: toolArgs } };
  }

  async function handleCompletion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
      return;
    }
    count += 1;
    const n = count;
    const stream = body.stream === true;
    const model = typeof body.model === "string" ? body.model : defaultModel;
    const { answer, text, tool } = decide(body);
    let toolCallId = "";
    if (answer === "tool_call") {
      toolCallsIssued += 1;
      toolCallId = `call_fake_${toolCallsIssued}`;
    }
    records.push({
      n,
      stream,
      answer,
      ...(tool && answer === "tool_call" ? { tool: tool.name } : {}),
      messageCount: Array.isArray(body.messages) ? body.messages.length : 0,
      toolCount: Array.isArray(body.tools) ? body.tools.length : 0,
    });

    const id = `chatcmpl-fake-${n}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: 32, completion_tokens: 8, total_tokens: 40 };
    const fn = { name: tool?.name ?? toolName, arguments: tool?.args ?? toolArgs };
    const toolCall = { id: toolCallId, type: "function", function: fn };

    if (!stream) {
      const message =
        answer === "tool_call"
          ? { role: "assistant", content: null, tool_calls: [toolCall] }
          : { role: "assistant", content: text };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, finish_reason: answer === "tool_call" ? "tool_calls" : "stop" }],
          usage,
        }),
      );
      return;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (delta: unknown, finish: string | null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    if (answer === "tool_call") {
      send(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, ...toolCall }] }, null));
      send(chunk({}, "tool_calls"));
    } else {
      send(chunk({ role: "assistant", content: "" }, null));
      // two content pieces, to exercise incremental assembly
      const mid = Math.ceil(text.length / 2);
      send(chunk({ content: text.slice(0, mid) }, null));
      send(chunk({ content: text.slice(mid) }, null));
      send(chunk({}, "stop"));
    }
    send({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  }

  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "POST" && /\/chat\/completions$/.test(url)) {
      handleCompletion(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: String(err), type: "server_error" } }));
      });
      return;
    }
    if (req.method === "GET" && /\/models$/.test(url)) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: defaultModel, object: "model", owned_by: "fake" }] }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `no route ${req.method} ${url}`, type: "not_found" } }));
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  return {
    port,
    url: `http://${host}:${port}/v1`,
    requests: () => count,
    log: () => records.map((r) => ({ ...r })),
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
