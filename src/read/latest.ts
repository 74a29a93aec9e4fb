// The newest events that match a filter (for the query method, the agent tool and `tail --last`):
// read stretches of the stream backwards from its end, each one forwards in order, each four times
// longer than the last, until enough events matched or the window's start is passed.
import type { EventFilter } from "./filter.ts";
import { readAll, STORE_SKEW_MS, type MalformedMessage, type ReadConnection, type StoredEvent } from "./events.ts";
import { OrderedReader } from "./ordered-reader.ts";

interface LatestSpec {
  stream: string;
  prefix: string;
  filter: EventFilter;
  limit: number;
  /** Stop after looking at this many messages in all (the answer is then partial). */
  scanLimit?: number;
  onMalformed?: (m: MalformedMessage) => void;
}

interface LatestResult {
  /** Oldest first, newest last; at most `limit`. */
  events: StoredEvent[];
  /** More matching events exist before the first one returned (or may: the scan stopped early). */
  hasMore: boolean;
  /** The scan budget ran out: the events are the newest of what was looked at, not of the window. */
  partial: boolean;
  /** The stream's last sequence when the search began (a follow-up read starts after it). */
  lastSeq: number;
  malformed: number;
  scanned: number;
}

/** The first stream sequence stored at or after `ms` (last sequence + 1 when there is none). */
async function seqAtTime(conn: ReadConnection, stream: string, prefix: string, ms: number): Promise<number> {
  let found = 0;
  const reader: OrderedReader = new OrderedReader(
    conn.nc,
    conn.jsm,
    { stream, filters: [`${prefix}.>`], start: { time: ms } },
    (d) => {
      if (found === 0) found = d.seq;
      void reader.stop();
    },
  );
  const pending = await reader.start();
  if (found > 0) return found; // it came while the consumer was being made
  if (pending === 0) {
    await reader.stop();
    return (await conn.jsm.streams.info(stream)).state.last_seq + 1;
  }
  await reader.done;
  return found;
}

export async function latestEvents(conn: ReadConnection, spec: LatestSpec): Promise<LatestResult> {
  const { stream, prefix, filter: f, limit } = spec;
  const state = (await conn.jsm.streams.info(stream)).state;
  const result: LatestResult = {
    events: [],
    hasMore: false,
    partial: false,
    lastSeq: state.last_seq,
    malformed: 0,
    scanned: 0,
  };
  if (state.messages === 0 || limit <= 0) return result;
  let first = state.first_seq;
  let hi = state.last_seq;
  if (f.since !== undefined) first = Math.max(first, await seqAtTime(conn, stream, prefix, f.since - STORE_SKEW_MS));
  if (f.until !== undefined) hi = Math.min(hi, (await seqAtTime(conn, stream, prefix, f.until + STORE_SKEW_MS)) - 1);
  const chunks: StoredEvent[][] = [];
  let found = 0;
  let span = Math.max(256, limit * 8);
  while (hi >= first) {
    const lo = Math.max(first, hi - span + 1);
    const got: StoredEvent[] = [];
    const left = spec.scanLimit !== undefined ? spec.scanLimit - result.scanned : undefined;
    const s = await readAll(conn, {
      stream,
      prefix,
      filter: f,
      start: { seq: lo },
      endSeq: hi,
      scanLimit: left,
      decode: "envelope",
      onEvent: (e) => got.push(e),
      onMalformed: spec.onMalformed,
    });
    chunks.unshift(got);
    found += got.length;
    result.scanned += s.scanned;
    result.malformed += s.malformed;
    if (s.cut) {
      result.hasMore = true;
      result.partial = true;
      break;
    }
    if (found >= limit) {
      result.hasMore = found > limit || lo > first;
      break;
    }
    hi = lo - 1;
    span *= 4;
  }
  const all = chunks.flat();
  result.events = all.slice(Math.max(0, all.length - limit));
  return result;
}
