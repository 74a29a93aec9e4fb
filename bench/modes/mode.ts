// What every mode offers the runner. A mode publishes the same events in its own way; the runner
// decides the load shape (closed loop, paced, read-back) and does the measuring around it.
import type { NatsConnection } from "@nats-io/transport-node";
import type { BenchEvent } from "../lib/events.ts";
import { newHistogram, type Histogram } from "../lib/latency.ts";
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

function zeroStats(): ModeStats {
  return { sent: 0, acked: 0, errors: 0, dropped: 0, hostMs: 0, hostSpans: 0, hostEvents: 0 };
}

/**
 * What the two on-loop modes (inline, ceiling) share: one NATS connection on this thread, their
 * own counters and latency histogram, reset when measuring starts.
 */
export abstract class OnLoopMode {
  protected nc: NatsConnection | undefined;
  protected s: ModeStats = zeroStats();
  protected hist: Histogram = newHistogram();

  async beginMeasure(): Promise<void> {
    this.s = zeroStats();
    this.hist = newHistogram();
  }

  stats(): ModeStats {
    return { ...this.s };
  }

  async latency(): Promise<Histogram> {
    return this.hist;
  }

  async close(): Promise<void> {
    await this.nc?.close();
  }
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
