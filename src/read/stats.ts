// Counts by type and by agent, and the stream's size and limits. The counts come from subjects
// ({prefix}.{agent token}.{type token}): over the whole stream the server counts them per subject
// in one request; over a time window (or with session/run filters) the events are read.
import { EVENT_TYPES } from "../event-types.ts";
import { typeToken } from "../subject.ts";
import { readAll, type ReadConnection } from "./events.ts";
import { subjectMatcher, type EventFilter } from "./filter.ts";
import { agentToken } from "../subject.ts";
import { formatTime, type Style, PLAIN } from "./format.ts";

interface StreamSummary {
  name: string;
  subjects: string[];
  storage: string;
  messages: number;
  bytes: number;
  firstTs?: number;
  lastTs?: number;
  limits: { maxMessages: number; maxBytes: number; maxAgeMs: number; duplicateWindowMs: number; discard: string };
}

interface Counts {
  /** How the counts were made: the server's per-subject counts, or by reading the events. */
  method: "subjects" | "read";
  total: number;
  byType: Record<string, number>;
  byAgent: Record<string, number>;
  malformed: number;
}

export interface Stats {
  stream: StreamSummary;
  filter: EventFilter;
  counts: Counts;
}

const TYPE_BY_TOKEN = new Map(EVENT_TYPES.map((t) => [typeToken(t), t]));
const ms = (ns: number) => Math.round(ns / 1e6);
const time = (iso: string | undefined) => (iso && !iso.startsWith("0001") ? Date.parse(iso) : undefined);

export async function streamSummary(conn: ReadConnection, stream: string): Promise<StreamSummary> {
  const si = await conn.jsm.streams.info(stream);
  const c = si.config;
  return {
    name: c.name,
    subjects: c.subjects ?? [],
    storage: String(c.storage),
    messages: si.state.messages,
    bytes: si.state.bytes,
    firstTs: si.state.messages > 0 ? time(si.state.first_ts) : undefined,
    lastTs: si.state.messages > 0 ? time(si.state.last_ts) : undefined,
    limits: {
      maxMessages: c.max_msgs,
      maxBytes: c.max_bytes,
      maxAgeMs: ms(c.max_age),
      duplicateWindowMs: ms(c.duplicate_window ?? 0),
      discard: String(c.discard),
    },
  };
}

function add(counts: Counts, prefix: string, subject: string, n: number): void {
  const rest = subject.slice(prefix.length + 1);
  const dot = rest.indexOf(".");
  if (dot < 0) return;
  const agent = rest.slice(0, dot);
  const token = rest.slice(dot + 1);
  const type = TYPE_BY_TOKEN.get(token) ?? token;
  counts.total += n;
  counts.byType[type] = (counts.byType[type] ?? 0) + n;
  counts.byAgent[agent] = (counts.byAgent[agent] ?? 0) + n;
}

export async function countEvents(
  conn: ReadConnection,
  stream: string,
  prefix: string,
  f: EventFilter,
): Promise<Counts> {
  const counts: Counts = { method: "read", total: 0, byType: {}, byAgent: {}, malformed: 0 };
  const needsRead = f.since !== undefined || f.until !== undefined || f.session !== undefined || f.runId !== undefined;
  if (!needsRead) {
    counts.method = "subjects";
    const agents = f.agents?.length ? new Set(f.agents.map((a) => agentToken(a, true))) : undefined;
    const types = f.types?.length ? new Set(f.types.map(typeToken)) : undefined;
    const accept = subjectMatcher(prefix, agents, types);
    const si = await conn.jsm.streams.info(stream, { subjects_filter: `${prefix}.>` });
    for (const [subject, n] of Object.entries(si.state.subjects ?? {}))
      if (accept(subject)) add(counts, prefix, subject, n);
    return counts;
  }
  const endSeq = (await conn.jsm.streams.info(stream)).state.last_seq;
  const s = await readAll(conn, {
    stream,
    prefix,
    filter: f,
    endSeq,
    decode: "checked",
    onEvent: (e) => add(counts, prefix, e.subject, 1),
  });
  counts.malformed = s.malformed;
  return counts;
}

const n = (x: number) => x.toLocaleString("en-US");
const size = (b: number) =>
  b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 1048576).toFixed(1)} MiB`;
const limit = (x: number, f: (x: number) => string) => (x === undefined || x < 0 ? "unlimited" : f(x));
function age(msAge: number): string {
  if (msAge <= 0) return "unlimited";
  const h = msAge / 3_600_000;
  return h >= 48 ? `${+(h / 24).toFixed(1)} d` : h >= 1 ? `${+h.toFixed(1)} h` : `${+(msAge / 60_000).toFixed(1)} min`;
}
const window = (ms: number) => (ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);

function table(title: string, rows: Record<string, number>): string[] {
  const entries = Object.entries(rows).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const w = Math.max(title.length, ...entries.map(([k]) => k.length + 2));
  return [title.padEnd(w + 10), ...entries.map(([k, v]) => `  ${k}`.padEnd(w) + n(v).padStart(10))];
}

export function renderStats(s: Stats, style: Style = PLAIN): string {
  const st = s.stream;
  const span =
    st.firstTs !== undefined && st.lastTs !== undefined ? `, ${formatTime(st.firstTs)} → ${formatTime(st.lastTs)}` : "";
  const lim = st.limits;
  const f = s.filter;
  const scope = [
    f.since !== undefined && `since ${formatTime(f.since)}`,
    f.until !== undefined && `until ${formatTime(f.until)}`,
    f.agents?.length && `agent ${f.agents.join(",")}`,
    f.types?.length && `type ${f.types.join(",")}`,
    f.session !== undefined && `session ${f.session}`,
    f.runId !== undefined && `run ${f.runId}`,
  ].filter(Boolean);
  const lines = [
    `${style.bold(`stream ${st.name}`)}: ${n(st.messages)} events, ${size(st.bytes)}, ${st.storage} storage${span}`,
    `limits: max messages ${limit(lim.maxMessages, n)}, max bytes ${limit(lim.maxBytes, size)}, ` +
      `max age ${age(lim.maxAgeMs)}, ` +
      `duplicate window ${window(lim.duplicateWindowMs)}, discard ${lim.discard}; subjects ${st.subjects.join(" ")}`,
    `counted: ${n(s.counts.total)} events${scope.length ? ` (${scope.join(", ")})` : " (all)"}` +
      (s.counts.malformed ? `, ${n(s.counts.malformed)} malformed messages skipped` : ""),
  ];
  const left = table("by type", s.counts.byType);
  const right = table("by agent", s.counts.byAgent);
  const w = Math.max(...left.map((l) => l.length)) + 4;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    lines.push(`${(left[i] ?? "").padEnd(w)}${right[i] ?? ""}`.trimEnd());
  }
  return lines.join("\n");
}
