// Events as one readable line: time, agent, type, session and the payload's key fields. Used by
// `tail`/`replay` on a terminal, the session timeline and the agent tool (without colours).
import type { Envelope } from "../envelope.ts";

export interface Style {
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  agent(s: string): string;
  type(type: string, s: string): string;
}

const esc = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const AGENT_COLOURS = ["36", "35", "33", "32", "34", "96", "95", "93"].map(esc);
const TYPE_COLOURS: Record<string, (s: string) => string> = {
  msg: esc("32"),
  tool: esc("36"),
  run: esc("35"),
  llm: esc("34"),
  model: esc("34"),
  session: esc("33"),
  subagent: esc("95"),
};

export const PLAIN: Style = { dim: (s) => s, bold: (s) => s, red: (s) => s, agent: (s) => s, type: (_t, s) => s };

const COLOUR: Style = {
  dim: esc("2"),
  bold: esc("1"),
  red: esc("31"),
  agent: (s) => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return AGENT_COLOURS[h % AGENT_COLOURS.length](s);
  },
  type: (t, s) =>
    t.endsWith(".error") ? esc("31")(s) : (TYPE_COLOURS[t.slice(0, t.indexOf("."))] ?? ((x: string) => x))(s),
};

/** Colours only on a terminal (or with FORCE_COLOR), never with NO_COLOR set (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  if (env.NO_COLOR) return PLAIN;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return COLOUR;
  return stream.isTTY && env.TERM !== "dumb" ? COLOUR : PLAIN;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local time as 2026-11-30 14:28:44.261. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.` +
    String(d.getMilliseconds()).padStart(3, "0")
  );
}

function clip(s: string, max: number): string {
  const flat = s.replace(/\s+/g, " ");
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

function compact(v: unknown, max: number): string {
  if (v === undefined) return "";
  if (typeof v === "string") return JSON.stringify(clip(v, max));
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return clip(s, max);
}

/** A tool result's text: OpenClaw results are {content: [{type: "text", text}, ...], details}. */
function resultText(v: unknown): unknown {
  const content = v !== null && typeof v === "object" ? (v as { content?: unknown }).content : undefined;
  if (!Array.isArray(content)) return typeof v === "string" ? JSON.stringify(v) : v;
  const texts = content.map((c) => (c && typeof c === "object" ? (c as { text?: unknown }).text : undefined));
  return texts.every((t) => typeof t === "string") ? texts.join(" ") : v;
}

const short = (id: unknown) => (typeof id === "string" ? id.slice(0, 8) : "?");
const num = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en-US") : "?");
const ms = (v: unknown) =>
  typeof v === "number" ? (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : "";

/** Total input and output tokens of an llm.output usage object, when it has them. */
export function tokens(usage: unknown): { input: number; output: number } | undefined {
  if (usage === null || typeof usage !== "object") return undefined;
  const u = usage as Record<string, unknown>;
  const n = (...keys: string[]) => keys.map((k) => u[k]).find((x): x is number => typeof x === "number") ?? 0;
  const input = n("input", "inputTokens", "prompt_tokens");
  const output = n("output", "outputTokens", "completion_tokens");
  return input || output ? { input, output } : undefined;
}

/** The payload's key fields for a type, as short text. */
export function summary(env: Envelope, max = 120, style: Style = PLAIN): string {
  const p = env.payload;
  const err = (e: unknown) =>
    e === undefined || e === null || e === "" ? "" : style.red(`error: ${compact(e, max / 2)}`);
  const join = (...parts: (string | false | undefined)[]) => parts.filter(Boolean).join("  ");
  switch (env.type) {
    case "msg.in":
      return join(
        p.from !== undefined && `from ${p.from}`,
        p.channel !== undefined && `via ${p.channel}`,
        compact(p.content, max),
      );
    case "msg.sending":
    case "msg.out":
      return join(
        p.to !== undefined && `to ${p.to}`,
        p.success === false && style.red("failed"),
        err(p.error),
        compact(p.content, max),
      );
    case "tool.call":
      return join(style.bold(String(p.toolName ?? "?")), compact(p.params ?? p.paramsKeys, max));
    case "tool.result": {
      const text = resultText(p.result);
      const result = typeof text === "string" ? `→ ${clip(text, max)}` : compact(text ?? p.resultKeys, max);
      return join(style.bold(String(p.toolName ?? "?")), ms(p.durationMs), err(p.error) || result);
    }
    case "run.start":
      return join(
        `run ${short(p.runId)}`,
        p.model !== undefined && `${p.provider ?? "?"}/${p.model}`,
        p.trigger !== undefined && `trigger ${p.trigger}`,
        compact(p.prompt, max),
      );
    case "run.end":
      return join(
        `run ${short(p.runId)}`,
        p.success === false ? style.red("failed") : "ok",
        ms(p.durationMs),
        p.messageCount !== undefined && `${num(p.messageCount)} messages`,
        err(p.error),
      );
    case "run.error":
      return join(`run ${short(p.runId)}`, err(p.error) || style.red("failed"), ms(p.durationMs));
    case "llm.input":
      return join(
        String(p.model ?? "?"),
        `prompt ${num(p.promptLength)} chars`,
        `${num(p.historyMessageCount)} history`,
        `${num(p.toolCount)} tools`,
      );
    case "llm.output": {
      const t = tokens(p.usage);
      return join(
        String(p.model ?? "?"),
        `${num(p.assistantTextCount)} texts`,
        t && `tokens in ${num(t.input)} out ${num(t.output)}`,
      );
    }
    case "model.call_start":
      return join(`${p.provider ?? "?"}/${p.model ?? "?"}`, p.callId !== undefined && String(p.callId));
    case "model.call_end":
      return join(
        `${p.provider ?? "?"}/${p.model ?? "?"}`,
        p.outcome === "error" ? style.red("error") : String(p.outcome ?? ""),
        ms(p.durationMs),
        p.timeToFirstByteMs !== undefined && `ttfb ${ms(p.timeToFirstByteMs)}`,
        p.errorCategory !== undefined && style.red(String(p.errorCategory)),
      );
    case "subagent.spawned":
      return join(
        `${p.childAgentId ?? "?"}`,
        p.label !== undefined && compact(p.label, 40),
        String(p.childSessionKey ?? ""),
      );
    case "subagent.ended":
      return join(String(p.targetSessionKey ?? ""), String(p.outcome ?? ""), String(p.reason ?? ""), err(p.error));
    case "session.compaction_start":
    case "session.compaction_end":
      return join(
        `${num(p.messageCount)} messages`,
        p.compactedCount !== undefined && `${num(p.compactedCount)} compacted`,
        p.tokenCount !== undefined && `${num(p.tokenCount)} tokens`,
      );
    default:
      return compact(p, max);
  }
}

/** The session key without the agent:<agent>: prefix that the agent column already shows. */
function shortSession(env: Envelope): string {
  const pre = `agent:${env.agent}:`;
  return env.session.startsWith(pre) ? env.session.slice(pre.length) : env.session;
}

export function eventLine(env: Envelope, style: Style = PLAIN, max = 120): string {
  const session = env.session === "system" ? "" : shortSession(env);
  return [
    style.dim(formatTime(env.ts)),
    style.agent(env.agent.padEnd(10)),
    style.type(env.type, env.type.padEnd(16)),
    session && style.dim(clip(session, 40)),
    summary(env, max, style),
  ]
    .filter(Boolean)
    .join("  ");
}
