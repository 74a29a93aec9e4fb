// The status report: counters read straight from shared memory, latency percentiles from the
// worker's HDR histograms. Nothing here carries credentials (server URLs are redacted).
import * as hdr from "hdr-histogram-js";
import { Counter, ringUsed, type RingViews } from "./ring/layout.ts";
import type { ConnectionState, LatencySnapshot, StreamInfoSummary } from "./worker-protocol.ts";
import type { Rates } from "./rate-window.ts";

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface Counters {
  captured: number;
  written: number;
  published: number;
  acked: number;
  duplicates: number;
  failed: number;
  timeouts: number;
  retried: number;
  reconnects: number;
  inFlight: number;
  /** Written and not yet acked (in the ring: waiting, in flight or being retried). */
  pending: number;
  dropped: { ringFull: number; tooLarge: number; rejected: number; undeliverable: number; total: number };
  truncated: number;
  sanitized: number;
  /** Secrets replaced by [REDACTED:kind] in published payloads, and the events that had any. */
  redactions: number;
  redactedEvents: number;
  workerStarts: number;
  workerCrashes: number;
  /** Workers the watchdog replaced because they made no progress (blocked, or connected without acks). */
  workerStalls: number;
  /** Replies on the ack inbox that were not acks of ours (ignored). */
  foreignAcks: number;
  /**
   * Disk spool: records written to it, records published from it, records of earlier processes
   * stored (recovered) or given up, bytes it holds, whether it is full or failing, and damaged
   * files set aside (`*.bad`) with the stretches and bytes that could not be read.
   */
  spool: {
    spooled: number;
    replayed: number;
    recovered: number;
    recoveredDropped: number;
    bytes: number;
    full: boolean;
    failed: boolean;
    damaged: { segments: number; records: number; bytes: number };
  };
}

export interface EventStoreStatus {
  enabled: true;
  /** `reason` says why, while the state is "stalled" (the watchdog is replacing the worker). */
  connection: { state: ConnectionState; server?: string; reason?: string };
  stream?: StreamInfoSummary;
  counters: Counters;
  rates: Rates;
  ring: { capacityBytes: number; usedBytes: number; highWaterBytes: number };
  /** Milliseconds. */
  latency: { captureToAck: Percentiles; publishToAck: Percentiles };
  /** What the hooks cost the gateway's event loop (each hook's calls 5..64, then every 32nd). */
  host: { hookCalls: number; costNsPerCall: number };
  /** CPU the publisher worker threads have used (all of them since start), and per acked event. */
  worker: { cpuMs: number; cpuNsPerEvent: number; lastStall?: { reason: string; at: number } };
  lastError?: string;
}

export function readCounters(v: RingViews): Counters {
  const n = v.counters;
  const dropped = {
    ringFull: n[Counter.droppedRingFull],
    tooLarge: n[Counter.droppedTooLarge],
    rejected: n[Counter.rejected],
    undeliverable: n[Counter.undeliverable],
    total: 0,
  };
  dropped.total = dropped.ringFull + dropped.tooLarge + dropped.rejected + dropped.undeliverable;
  return {
    captured: n[Counter.captured],
    written: n[Counter.written],
    published: n[Counter.published],
    acked: n[Counter.acked],
    duplicates: n[Counter.duplicates],
    failed: n[Counter.failed],
    timeouts: n[Counter.timeouts],
    retried: n[Counter.retried],
    reconnects: n[Counter.reconnects],
    inFlight: n[Counter.inFlight],
    pending: Math.max(0, n[Counter.written] - n[Counter.acked] - n[Counter.undeliverable]),
    dropped,
    truncated: n[Counter.truncated],
    sanitized: n[Counter.sanitized],
    redactions: n[Counter.redactions],
    redactedEvents: n[Counter.redactedEvents],
    workerStarts: n[Counter.workerStarts],
    workerCrashes: n[Counter.workerCrashes],
    workerStalls: n[Counter.workerStalls],
    foreignAcks: n[Counter.foreignAcks],
    spool: {
      spooled: n[Counter.spooled],
      replayed: n[Counter.replayed],
      recovered: n[Counter.recovered],
      recoveredDropped: n[Counter.recoveredDropped],
      bytes: n[Counter.spoolBytes],
      full: n[Counter.spoolFull] === 1,
      failed: n[Counter.spoolFailed] === 1,
      damaged: {
        segments: n[Counter.spoolBadSegments],
        records: n[Counter.spoolBadRecords],
        bytes: n[Counter.spoolBadBytes],
      },
    },
  };
}

export function hostCost(v: RingViews): EventStoreStatus["host"] {
  const n = v.counters;
  return {
    hookCalls: n[Counter.hookCalls],
    costNsPerCall: n[Counter.hookCostSamples] > 0 ? Math.round(n[Counter.hookCostNs] / n[Counter.hookCostSamples]) : 0,
  };
}

export function ringUsage(v: RingViews): EventStoreStatus["ring"] {
  // A worker that is not running (or not looking) cannot have seen what is in use now.
  const used = ringUsed(v);
  return {
    capacityBytes: v.capacity,
    usedBytes: used,
    highWaterBytes: Math.max(used, v.counters[Counter.ringHighWater]),
  };
}

const EMPTY: Percentiles = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

/** Merges compressed histograms (microseconds) and returns percentiles in milliseconds. */
export function percentiles(encoded: string[]): Percentiles {
  if (encoded.length === 0) return EMPTY;
  const total = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e));
  if (total.totalCount === 0) return EMPTY;
  const ms = (p: number) => Math.round(total.getValueAtPercentile(p)) / 1000;
  return { count: total.totalCount, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: total.maxValue / 1000 };
}

/** Two workers' snapshots as one (their histograms added, their CPU summed). */
export function mergeSnapshots(a: LatencySnapshot, b: LatencySnapshot): LatencySnapshot {
  const add = (x: string, y: string) => {
    const h = hdr.decodeFromCompressedBase64(x);
    h.add(hdr.decodeFromCompressedBase64(y));
    return hdr.encodeIntoCompressedBase64(h);
  };
  return {
    captureToAck: add(a.captureToAck, b.captureToAck),
    publishToAck: add(a.publishToAck, b.publishToAck),
    cpuUs: a.cpuUs + b.cpuUs,
  };
}

export function latencyPercentiles(snapshots: LatencySnapshot[]): EventStoreStatus["latency"] {
  return {
    captureToAck: percentiles(snapshots.map((s) => s.captureToAck)),
    publishToAck: percentiles(snapshots.map((s) => s.publishToAck)),
  };
}

export function workerCpu(snapshots: LatencySnapshot[], acked: number): EventStoreStatus["worker"] {
  const us = snapshots.reduce((n, s) => n + (s.cpuUs ?? 0), 0);
  return { cpuMs: Math.round(us / 1000), cpuNsPerEvent: acked > 0 ? Math.round((us * 1000) / acked) : 0 };
}
