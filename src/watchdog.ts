// Decides whether a running publisher worker makes progress. The worker stamps a heartbeat into
// shared memory from its sweep timer; a heartbeat that stops means its event loop is blocked. A
// worker that is connected while events wait and gets no answer from JetStream (nor spools anything)
// for longer than the bound is stuck as well, however alive its loop. Either way the supervisor replaces it.
import { Counter, ringUsed, type RingViews } from "./ring/layout.ts";

/** How long a worker may make no progress: several publish timeouts (each ack is retried after one). */
export function stallBoundMs(publishTimeoutMs: number): number {
  return Math.max(2000, 3 * publishTimeoutMs);
}

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

  /** A worker was started at `now` (shared-clock ms): it gets a full bound before its first heartbeat. */
  reset(now: number): void {
    this.startedAt = now;
    this.done = -1;
    this.doneSince = now;
  }

  /** Why the worker is stalled at `now` (shared-clock ms), or undefined while it makes progress. */
  check(now: number, connected: boolean): string | undefined {
    const n = this.views.counters;
    const beat = Math.max(n[Counter.workerHeartbeat], this.startedAt);
    if (now - beat > this.boundMs) return `its event loop has not turned for ${seconds(now - beat)} s`;
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
      return `connected, but nothing acked or spooled for ${seconds(now - this.doneSince)} s while events wait`;
    }
    return undefined;
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
