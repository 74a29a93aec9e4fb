// Decides whether a running publisher worker makes progress. The worker stamps a heartbeat into
// shared memory from its sweep timer; a heartbeat that stops means its event loop is blocked. A
// worker that is connected while events wait and gets no answer from JetStream (nor spools anything)
// for longer than the bound is stuck as well, however alive its loop. Either way the supervisor replaces it.
import { Counter, ringUsed, type RingViews } from "./ring/layout.ts";

/** How long a worker may make no progress: several publish timeouts (each ack is retried after one). */
export function stallBoundMs(publishTimeoutMs: number): number {
  return Math.max(2000, 3 * publishTimeoutMs);
}

/**
 * The least time a new worker gets for its first heartbeat: before it, it loads its modules, reads
 * its settings files and touches every page of the ring, which took over 2 s on a two-core host
 * under a load average of 11. A start is not a stall.
 */
export const FIRST_BEAT_MS = 10_000;

export class ProgressWatchdog {
  readonly boundMs: number;
  private readonly views: RingViews;
  private startedAt = 0;
  private done = -1;
  private doneSince = 0;

  constructor(views: RingViews, boundMs: number) {
    this.views = views;
    this.boundMs = boundMs;
  }

  /** A worker was started at `now` (shared-clock ms): it gets FIRST_BEAT_MS, or the bound if longer, to beat once. */
  reset(now: number): void {
    this.startedAt = now;
    this.done = -1;
    this.doneSince = now;
  }

  /** Why the worker is stalled at `now` (shared-clock ms), or undefined while it makes progress. */
  check(now: number, connected: boolean): string | undefined {
    const n = this.views.counters;
    const beaten = n[Counter.workerHeartbeat] >= this.startedAt;
    const beat = beaten ? n[Counter.workerHeartbeat] : this.startedAt;
    const bound = beaten ? this.boundMs : Math.max(this.boundMs, FIRST_BEAT_MS);
    if (now - beat > bound) {
      return beaten
        ? `its event loop has not turned for ${seconds(now - beat)} s`
        : `it has not started within ${seconds(now - beat)} s (no first heartbeat)`;
    }
    // Progress is anything JetStream answered, refusals included (a full store is not a stuck worker,
    // and a new worker would not help), or anything that left the ring for the spool.
    const done =
      n[Counter.acked] +
      n[Counter.recovered] +
      n[Counter.spooled] +
      n[Counter.undeliverable] +
      n[Counter.failed] -
      n[Counter.timeouts];
    const waiting = n[Counter.inFlight] > 0 || ringUsed(this.views) > 0;
    if (!connected || !waiting || done !== this.done) {
      this.done = done;
      this.doneSince = now;
      return undefined;
    }
    if (now - this.doneSince > this.boundMs) {
      // Both stop when the loop stops, and the supervisor sees either first: a heartbeat older than
      // half the bound (the sweep stamps it at least every 250 ms) names the loop as the cause.
      if (now - beat > this.boundMs / 2) return `its event loop has not turned for ${seconds(now - beat)} s`;
      return `connected, but nothing acked or spooled for ${seconds(now - this.doneSince)} s while events wait`;
    }
    return undefined;
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
