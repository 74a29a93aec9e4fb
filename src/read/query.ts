// The gateway method eventstore.query: {agent?, type?, session?, runId?, since?, until?, limit}
// -> the newest matching events, oldest first (newest last), at most `limit` (capped).
import type { Envelope } from "../envelope.ts";
import type { ReadConnection } from "./events.ts";
import { resolveTypes, type EventFilter } from "./filter.ts";
import { latestEvents } from "./latest.ts";
import { parseTime } from "./time.ts";

const QUERY_DEFAULT_LIMIT = 100;
export const QUERY_MAX_LIMIT = 1000;
/** Messages one query may look at: it runs on the gateway's thread. */
const QUERY_SCAN_LIMIT = 200_000;

export class QueryError extends Error {}

interface Query {
  filter: EventFilter;
  limit: number;
  /** The limit asked for was above the cap. */
  capped: boolean;
}

interface QueryResult {
  events: Envelope[];
  count: number;
  limit: number;
  capped: boolean;
  /** Older matching events exist (or may: see partial). */
  hasMore: boolean;
  /** The query looked at QUERY_SCAN_LIMIT messages and stopped: the events are the newest of those. */
  partial: boolean;
  malformed: number;
}

function strings(v: unknown, key: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list =
    typeof v === "string" ? v.split(",") : Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  if (!list) throw new QueryError(`${key} must be a string or a list of strings`);
  const out = list.map((x) => x.trim()).filter(Boolean);
  return out.length ? out : undefined;
}

function oneString(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "") throw new QueryError(`${key} must be a non-empty string`);
  return v;
}

function time(v: unknown, key: string, now: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number")
    throw new QueryError(`${key} must be a duration, an ISO time or epoch ms`);
  try {
    return parseTime(v, now);
  } catch (e) {
    throw new QueryError(`${key}: ${(e as Error).message}`);
  }
}

const KNOWN = new Set(["agent", "type", "session", "runId", "since", "until", "limit"]);

/** Validates method (or tool) parameters; `maxLimit` caps the limit. */
export function parseQuery(
  params: Record<string, unknown>,
  maxLimit = QUERY_MAX_LIMIT,
  defaultLimit = QUERY_DEFAULT_LIMIT,
): Query {
  const unknown = Object.keys(params).filter((k) => !KNOWN.has(k));
  if (unknown.length)
    throw new QueryError(`unknown parameter(s) ${unknown.join(", ")}; known: ${[...KNOWN].join(", ")}`);
  const now = Date.now();
  const f: EventFilter = {};
  const agents = strings(params.agent, "agent");
  const types = strings(params.type, "type");
  if (agents) f.agents = agents;
  try {
    if (types) f.types = resolveTypes(types);
  } catch (e) {
    throw new QueryError(`type: ${(e as Error).message}`);
  }
  f.session = oneString(params.session, "session");
  f.runId = oneString(params.runId, "runId");
  f.since = time(params.since, "since", now);
  f.until = time(params.until, "until", now);
  for (const k of ["session", "runId", "since", "until"] as const) if (f[k] === undefined) delete f[k];
  let limit = defaultLimit;
  if (params.limit !== undefined && params.limit !== null) {
    if (typeof params.limit !== "number" || !Number.isInteger(params.limit) || params.limit < 1) {
      throw new QueryError("limit must be an integer >= 1");
    }
    limit = params.limit;
  }
  return { filter: f, limit: Math.min(limit, maxLimit), capped: limit > maxLimit };
}

export async function runQuery(conn: ReadConnection, stream: string, prefix: string, q: Query): Promise<QueryResult> {
  const r = await latestEvents(conn, { stream, prefix, filter: q.filter, limit: q.limit, scanLimit: QUERY_SCAN_LIMIT });
  const events = r.events.map((e) => e.env!);
  return {
    events,
    count: events.length,
    limit: q.limit,
    capped: q.capped,
    hasMore: r.hasMore,
    partial: r.partial,
    malformed: r.malformed,
  };
}
