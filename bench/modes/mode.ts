// What every mode offers the runner. A mode publishes the same events in its own way; the runner
// decides the load shape (closed loop, paced, read-back) and does the measuring around it.
import type { BenchEvent } from "../lib/events.ts";
import type { Histogram } from "../lib/latency.ts";
import type { ModeName } from "../lib/types.ts";

/** Events made ready for a mode (pre-encoded for the ceiling, as they are for the others). */
export interface Prepared {
  readonly events: readonly BenchEvent[];
}

/** Send up to `count` events, or until performance.now() reaches `until` (cycling through the list). */
export interface Limit {
  count: number;
  until?: number;
}

export interface ModeStats {
  /** Events offered since beginMeasure(). */
  sent: number;
  acked: number;
  /** Failed publishes: lost for inline and ceiling; retried (and counted here) by the offloaded engine. */
  errors: number;
  dropped: number;
  /** Host-thread time inside capture/publish calls (ms), how many timed spans it came from, and the events in them. */
  hostMs: number;
  hostSpans: number;
  hostEvents: number;
}

export interface BenchMode {
  readonly name: ModeName;
  readonly notes: string[];
  open(): Promise<void>;
  prepare(events: BenchEvent[]): Prepared;
  /** Closed loop: `callers` callers (or the mode's full speed) until `limit`; resolves once all were offered. */
  closed(src: Prepared, callers: number | "full", limit: Limit): Promise<void>;
  /** Offers event `i` of `src` now and returns at once (paced loads). */
  fire(src: Prepared, i: number): void;
  /** Resolves true once everything offered is acked, failed or dropped; false after `timeoutMs`. */
  settle(timeoutMs: number): Promise<boolean>;
  /** Starts the measured part: counters, host cost and latency start from zero. */
  beginMeasure(): Promise<void>;
  stats(): ModeStats;
  /** Capture (or call) -> ack latency of the events since beginMeasure(), microseconds. */
  latency(): Promise<Histogram>;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** True while event number `next` may still be sent under `limit`. */
export function more(next: number, limit: Limit): boolean {
  return next < limit.count && (limit.until === undefined || performance.now() < limit.until);
}

/** Polls `done` every millisecond until it is true (true) or `timeoutMs` passes (false). */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(1);
  }
  return true;
}
