// The optional agent tool eventstore_recent (plugin config agentTool: true): one agent looks at
// what other agents did recently. It returns what the stream holds (content only as the privacy
// setting published it) and bounded output: at most 50 events, each one line, 8,000 characters.
import type { EventStoreConfig } from "../config.ts";
import type { AgentTool } from "../plugin-api.ts";
import { eventLine } from "./format.ts";
import { withReader } from "./gateway-reader.ts";
import { parseQuery, runQuery } from "./query.ts";

export const TOOL_NAME = "eventstore_recent";
const TOOL_MAX_EVENTS = 50;
const TOOL_DEFAULT_EVENTS = 20;
const TOOL_MAX_CHARS = 8000;
const LINE_CHARS = 300;

const PARAMETERS = {
  type: "object",
  additionalProperties: false,
  properties: {
    agent: { type: "string", description: "Only this agent id (comma-separate several)." },
    type: {
      type: "string",
      description: "Only these event types; globs such as tool.*, msg.*, run.* (comma-separated).",
    },
    session: { type: "string", description: "Only this session key." },
    runId: { type: "string", description: "Only events of this run." },
    since: { type: "string", description: "From this time: a duration back from now (15m, 2h, 1d) or an ISO time." },
    limit: {
      type: "integer",
      minimum: 1,
      maximum: TOOL_MAX_EVENTS,
      description: `At most this many events (default ${TOOL_DEFAULT_EVENTS}).`,
    },
  },
} as const;

/** The newest lines that fit in `maxChars`, oldest first; says how many older ones were left out. */
export function boundedText(lines: string[], maxChars: number): string {
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].length > LINE_CHARS ? `${lines[i].slice(0, LINE_CHARS - 1)}…` : lines[i];
    if (size + line.length + 1 > maxChars - 80) break;
    kept.unshift(line);
    size += line.length + 1;
  }
  const left = lines.length - kept.length;
  return (left > 0 ? `(${left} older events left out)\n` : "") + kept.join("\n");
}

export function eventstoreRecentTool(config: EventStoreConfig): AgentTool {
  return {
    name: TOOL_NAME,
    label: "Recent events (NATS event store)",
    description:
      "Recent events of this OpenClaw gateway's agents from the NATS event store: messages, tool calls, runs, " +
      "LLM calls, sub-agents. Use it to see what another agent did recently. Newest last.",
    parameters: PARAMETERS,
    async execute(_toolCallId, params) {
      const q = parseQuery((params ?? {}) as Record<string, unknown>, TOOL_MAX_EVENTS, TOOL_DEFAULT_EVENTS);
      const r = await withReader(config, (c) => runQuery(c, config.streamName, config.subjectPrefix, q));
      const lines = r.events.map((e) => eventLine(e));
      const head = r.count === 0 ? "No matching events in the event store." : `${r.count} event(s), newest last:`;
      const more = r.hasMore ? "\n(older matching events exist; narrow with since, type, agent or session)" : "";
      return {
        content: [
          { type: "text", text: `${head}\n${boundedText(lines, TOOL_MAX_CHARS - head.length - more.length)}${more}` },
        ],
        details: {
          count: r.count,
          hasMore: r.hasMore,
          events: r.events.map((e) => ({ id: e.id, ts: e.ts, agent: e.agent, session: e.session, type: e.type })),
        },
      };
    },
  };
}
