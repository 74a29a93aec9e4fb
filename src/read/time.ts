// Times given on the command line or to the query method: a duration back from now ("90s", "15m",
// "2h", "1h30m", "7d"), an ISO date or date-time, or epoch milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

export class TimeSpecError extends Error {}

/** Milliseconds in a duration such as "90s", "2h" or "1h30m"; undefined when `s` is not one. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim();
  if (!DURATION.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** Epoch milliseconds for a duration back from `now`, an ISO time or epoch milliseconds. */
export function parseTime(spec: string | number, now = Date.now()): number {
  if (typeof spec === "number") {
    if (!Number.isFinite(spec) || spec < 0) throw new TimeSpecError(`not a time: ${spec}`);
    return spec;
  }
  const s = spec.trim();
  const d = parseDuration(s);
  if (d !== undefined) return now - d;
  if (/^\d{12,}$/.test(s)) return Number(s);
  // A date or date-time; a date-time without a zone is local time, as Date.parse reads it.
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new TimeSpecError(
    `not a time: ${JSON.stringify(spec)} (use a duration such as 15m, 2h, 1d, an ISO time, or epoch ms)`,
  );
}
