// Which events a reader wants, and how much of that the server can do. Agent and type filters
// become consumer subject filters ({prefix}.{agent token}.{type token}); session and run filters
// need the envelope and are applied here, after a cheap byte search that skips most other events
// without decoding them.
import type { Envelope } from "../envelope.ts";
import { EVENT_TYPES } from "../event-types.ts";
import { agentToken, typeToken } from "../subject.ts";

export interface EventFilter {
  /** Agent ids as the envelopes carry them (any of them). */
  agents?: string[];
  /** Concrete event type names (any of them); see resolveTypes for globs. */
  types?: string[];
  /** A session key; one without ":" also matches agent:<any agent>:<key>. */
  session?: string;
  runId?: string;
  /** Event time window, epoch ms (the envelope's ts), both ends included. */
  since?: number;
  until?: number;
}

export class FilterError extends Error {}

const TYPE_NAME = /^[A-Za-z0-9_.*-]+$/;

/**
 * Type names for type arguments: exact names, and globs such as "tool.*" or "*.end" matched
 * against the known types. "tool.*" is not a NATS wildcard (the subject token is tool_call), so a
 * glob becomes the set of concrete types it matches. An exact name that is not a known type is
 * kept (a newer plugin may publish it); a glob that matches nothing is an error.
 */
export function resolveTypes(args: string[]): string[] {
  const out = new Set<string>();
  for (const raw of args.flatMap((a) => a.split(","))) {
    const a = raw.trim();
    if (a === "") continue;
    if (!TYPE_NAME.test(a)) throw new FilterError(`not an event type: ${JSON.stringify(a)}`);
    if (!a.includes("*")) {
      out.add(a);
      continue;
    }
    const re = new RegExp(`^${a.replace(/\./g, "\\.").replace(/\*/g, "[^.]*")}$`);
    const hits = EVENT_TYPES.filter((t) => re.test(t));
    if (hits.length === 0) throw new FilterError(`${a} matches no event type; known types: ${EVENT_TYPES.join(", ")}`);
    for (const t of hits) out.add(t);
  }
  return [...out];
}

interface SubjectPlan {
  /** Consumer filter subjects: one, or several when the server takes several (NATS >= 2.10). */
  filters: string[];
  /** Set when the filter is wider than asked (NATS 2.9 takes one filter): the subjects wanted. */
  accept?: (subject: string) => boolean;
}

/** A predicate for {prefix}.{agent token}.{type token} subjects (undefined sets: any). */
export function subjectMatcher(
  prefix: string,
  agents?: Set<string>,
  types?: Set<string>,
): (subject: string) => boolean {
  const start = prefix.length + 1;
  return (subject) => {
    const dot = subject.indexOf(".", start);
    if (dot < 0 || !subject.startsWith(prefix) || subject.charCodeAt(prefix.length) !== 0x2e) return false;
    return (!agents || agents.has(subject.slice(start, dot))) && (!types || types.has(subject.slice(dot + 1)));
  };
}

/** The consumer filter(s) for the agent and type parts of `f`. */
export function subjectPlan(prefix: string, f: EventFilter, multipleFilters: boolean): SubjectPlan {
  // "system" and "unknown" name the plugin's labels (gateway-level, unattributed events), as users mean them.
  const agents = [...new Set((f.agents ?? []).map((a) => agentToken(a, true)))];
  const types = [...new Set((f.types ?? []).map(typeToken))];
  const exact: string[] = [];
  for (const a of agents.length ? agents : ["*"]) {
    for (const t of types.length ? types : ["*"]) exact.push(`${prefix}.${a}.${t}`);
  }
  if (exact.length === 1) return { filters: [exact[0].endsWith(".*.*") ? `${prefix}.>` : exact[0]] };
  if (multipleFilters && exact.length <= 256) return { filters: exact };
  const a = agents.length === 1 ? agents[0] : "*";
  const t = types.length === 1 ? types[0] : "*";
  const wide = a === "*" && t === "*" ? `${prefix}.>` : `${prefix}.${a}.${t}`;
  return {
    filters: [wide],
    accept: subjectMatcher(
      prefix,
      agents.length ? new Set(agents) : undefined,
      types.length ? new Set(types) : undefined,
    ),
  };
}

/** A predicate for session keys: exact, or agent:<any>:<key> for a key without ":". */
export function sessionMatcher(key: string): (session: string) => boolean {
  if (key.includes(":")) return (s) => s === key;
  const tail = `:${key}`;
  return (s) =>
    s === key || (s.startsWith("agent:") && s.endsWith(tail) && s.indexOf(":", 6) === s.length - tail.length);
}

/** True when the decoded envelope passes the session, run and time parts of `f`. */
export function envelopeMatches(
  env: Envelope,
  f: EventFilter,
  session = f.session && sessionMatcher(f.session),
): boolean {
  if (f.since !== undefined && env.ts < f.since) return false;
  if (f.until !== undefined && env.ts > f.until) return false;
  if (session && !session(env.session)) return false;
  if (f.runId !== undefined && env.payload.runId !== f.runId) return false;
  if (f.agents?.length && !f.agents.includes(env.agent)) return false;
  if (f.types?.length && !f.types.includes(env.type)) return false;
  return true;
}

/**
 * Byte strings every matching message body must contain (for the session and run filters): the
 * value as a JSON string for JSON bodies, its raw bytes for MessagePack. Only values JSON writes
 * in one way (plain printable ASCII) get one, so the search never rejects a match.
 */
export function prefilterNeedles(f: EventFilter): { json: Buffer[]; raw: Buffer[] } {
  const values = [f.session, f.runId].filter((v): v is string => v !== undefined && /^[\x20-\x7e]+$/.test(v));
  const plain = values.filter((v) => !/["\\/]/.test(v));
  return {
    // A session key without ":" may be the end of a longer key: search for its end and the quote.
    json: plain.map((v) => Buffer.from(f.session === v && !v.includes(":") ? `${v}"` : JSON.stringify(v))),
    raw: plain.map((v) => Buffer.from(v)),
  };
}
