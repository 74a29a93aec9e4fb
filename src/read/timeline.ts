// One session as a timeline: its runs with their LLM calls and tool calls (durations, errors),
// messages in and out, sub-agents spawned, compactions; totals at the bottom. Built from the
// session's envelopes in stream order.
import type { Envelope } from "../envelope.ts";
import { formatTime, PLAIN, summary, tokens, type Style } from "./format.ts";

interface Totals {
  events: number;
  runs: number;
  failedRuns: number;
  /** model.call_end events; llm.output events when the stream has no model.call_* events. */
  llmCalls: number;
  /** tool.result events (tool.call events without a result count too). */
  toolCalls: number;
  toolErrors: number;
  toolMs: number;
  messagesIn: number;
  messagesSending: number;
  messagesOut: number;
  subagents: number;
  compactions: number;
  tokensIn: number;
  tokensOut: number;
}

interface RunSummary {
  runId: string;
  start?: number;
  end?: number;
  durationMs?: number;
  success?: boolean;
  llmCalls: number;
  toolCalls: number;
  toolErrors: number;
}

interface TimelineEntry {
  ts: number;
  type: string;
  runId?: string;
  /** 1 inside a run. */
  depth: number;
  text: string;
}

export interface Timeline {
  session: string;
  agents: string[];
  first?: number;
  last?: number;
  entries: TimelineEntry[];
  runs: RunSummary[];
  totals: Totals;
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const isError = (v: unknown) => v !== undefined && v !== null && v !== "" && v !== false;

function emptyTotals(): Totals {
  return {
    events: 0,
    runs: 0,
    failedRuns: 0,
    llmCalls: 0,
    toolCalls: 0,
    toolErrors: 0,
    toolMs: 0,
    messagesIn: 0,
    messagesSending: 0,
    messagesOut: 0,
    subagents: 0,
    compactions: 0,
    tokensIn: 0,
    tokensOut: 0,
  };
}

export function buildTimeline(session: string, events: readonly Envelope[], style: Style = PLAIN): Timeline {
  const t: Timeline = { session, agents: [], entries: [], runs: [], totals: emptyTotals() };
  const tot = t.totals;
  const runs = new Map<string, RunSummary>();
  const run = (id: string | undefined): RunSummary | undefined => {
    if (id === undefined) return undefined;
    let r = runs.get(id);
    if (!r) runs.set(id, (r = { runId: id, llmCalls: 0, toolCalls: 0, toolErrors: 0 }));
    return r;
  };
  const hasModelCalls = events.some((e) => e.type === "model.call_end");
  const resulted = new Set(events.filter((e) => e.type === "tool.result").map((e) => str(e.payload.toolCallId)));
  const agents = new Set<string>();
  for (const e of events) {
    const p = e.payload;
    const runId = str(p.runId);
    const r = run(runId);
    agents.add(e.agent);
    tot.events++;
    t.first = Math.min(t.first ?? e.ts, e.ts);
    t.last = Math.max(t.last ?? e.ts, e.ts);
    let text: string | undefined;
    switch (e.type) {
      case "run.start":
        // Each run once, however often it starts: a retry keeps its runId.
        if (r === undefined || (r.start === undefined && r.end === undefined)) tot.runs++;
        if (r && r.start === undefined) r.start = e.ts;
        text = `run ${runId?.slice(0, 8)} started  ${summary(e, 80, style).replace(/^run \S+ {2}/, "")}`;
        break;
      case "run.end":
        // (a run whose start is outside the window counts here)
        if (r === undefined || (r.start === undefined && r.end === undefined)) tot.runs++;
        if (r) {
          r.end = e.ts;
          r.durationMs = typeof p.durationMs === "number" ? p.durationMs : undefined;
          r.success = p.success !== false;
        }
        if (p.success === false) tot.failedRuns++;
        text = `run ${runId?.slice(0, 8)} ended  ${summary(e, 80, style).replace(/^run \S+ {2}/, "")}`;
        break;
      case "model.call_end":
        tot.llmCalls++;
        if (r) r.llmCalls++;
        text = `LLM call  ${summary(e, 80, style)}`;
        break;
      case "llm.output": {
        const tk = tokens(p.usage);
        tot.tokensIn += tk?.input ?? 0;
        tot.tokensOut += tk?.output ?? 0;
        if (!hasModelCalls) {
          tot.llmCalls++;
          if (r) r.llmCalls++;
        }
        text = `LLM output  ${summary(e, 80, style)}`;
        break;
      }
      case "tool.call":
        if (resulted.has(str(p.toolCallId)) && p.toolCallId !== undefined) break;
        tot.toolCalls++;
        if (r) r.toolCalls++;
        text = `tool ${summary(e, 80, style)}  (no result)`;
        break;
      case "tool.result":
        tot.toolCalls++;
        if (r) r.toolCalls++;
        if (typeof p.durationMs === "number") tot.toolMs += p.durationMs;
        if (isError(p.error)) {
          tot.toolErrors++;
          if (r) r.toolErrors++;
        }
        text = `tool ${summary(e, 80, style)}`;
        break;
      case "msg.in":
        tot.messagesIn++;
        text = `message in  ${summary(e, 80, style)}`;
        break;
      case "msg.sending":
        tot.messagesSending++;
        text = `message sending  ${summary(e, 80, style)}`;
        break;
      case "msg.out":
        tot.messagesOut++;
        text = `message out  ${summary(e, 80, style)}`;
        break;
      case "subagent.spawned":
        tot.subagents++;
        text = `sub-agent spawned  ${summary(e, 80, style)}`;
        break;
      case "subagent.ended":
        text = `sub-agent ended  ${summary(e, 80, style)}`;
        break;
      case "session.compaction_end":
        tot.compactions++;
        text = `compaction  ${summary(e, 80, style)}`;
        break;
      case "llm.input":
      case "model.call_start":
      case "session.compaction_start":
      case "run.error": // the same failure as its run.end
        break;
      default:
        text = `${e.type}  ${summary(e, 80, style)}`;
    }
    if (text !== undefined)
      t.entries.push({
        ts: e.ts,
        type: e.type,
        runId,
        depth: r && e.type !== "run.start" && e.type !== "run.end" ? 1 : 0,
        text,
      });
  }
  t.agents = [...agents];
  t.runs = [...runs.values()].filter((r) => r.start !== undefined || r.end !== undefined);
  return t;
}

const n = (x: number) => x.toLocaleString("en-US");
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;

function totalsText(tot: Totals): string[] {
  const toolDetail = tot.toolCalls ? ` (${plural(tot.toolErrors, "error")}, ${n(tot.toolMs)} ms)` : "";
  const tools = `${plural(tot.toolCalls, "tool call")}${toolDetail}`;
  return [
    `totals: ${plural(tot.runs, "run")}${tot.failedRuns ? ` (${n(tot.failedRuns)} failed)` : ""}, ` +
      `${plural(tot.llmCalls, "LLM call")}, ${tools}, tokens in ${n(tot.tokensIn)} out ${n(tot.tokensOut)}`,
    `        messages ${n(tot.messagesIn)} in, ${n(tot.messagesSending)} sending, ${n(tot.messagesOut)} out; ` +
      `${plural(tot.subagents, "sub-agent")} spawned; ${plural(tot.compactions, "compaction")}; ` +
      plural(tot.events, "event"),
  ];
}

export function renderTimeline(t: Timeline, style: Style = PLAIN): string {
  const lines: string[] = [];
  const span = t.first !== undefined && t.last !== undefined ? `  ${formatTime(t.first)} → ${formatTime(t.last)}` : "";
  lines.push(`${style.bold(`session ${t.session}`)}  (agent ${t.agents.join(", ") || "?"})${span}`);
  if (t.entries.length === 0) lines.push("no events");
  for (const e of t.entries) {
    lines.push(`${style.dim(formatTime(e.ts).slice(11))}  ${"  ".repeat(e.depth)}${e.text}`);
  }
  lines.push(...totalsText(t.totals).map((l) => style.bold(l)));
  return lines.join("\n");
}
