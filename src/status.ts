// The status report: counters read straight from shared memory, latency percentiles from the
// worker's HDR histograms. Nothing here carries credentials (server URLs are redacted).
import * as hdr from "hdr-histogram-js";
import { C, ringUsed, type RingViews } from "./ring/layout.ts";
import {
  type ConnectionState,
  LATENCY_HISTOGRAM,
  type LatencySnapshot,
  type StreamInfoSummary,
} from "./worker-protocol.ts";
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
    ringFull: n[C.droppedRingFull],
    tooLarge: n[C.droppedTooLarge],
    rejected: n[C.rejected],
    undeliverable: n[C.undeliverable],
    total: 0,
  };
  dropped.total = dropped.ringFull + dropped.tooLarge + dropped.rejected + dropped.undeliverable;
  return {
    captured: n[C.captured],
    written: n[C.written],
    published: n[C.published],
    acked: n[C.acked],
    duplicates: n[C.duplicates],
    failed: n[C.failed],
    timeouts: n[C.timeouts],
    retried: n[C.retried],
    reconnects: n[C.reconnects],
    inFlight: n[C.inFlight],
    pending: Math.max(0, n[C.written] - n[C.acked] - n[C.undeliverable]),
    dropped,
    truncated: n[C.truncated],
    sanitized: n[C.sanitized],
    redactions: n[C.redactions],
    redactedEvents: n[C.redactedEvents],
    workerStarts: n[C.workerStarts],
    workerCrashes: n[C.workerCrashes],
    workerStalls: n[C.workerStalls],
    foreignAcks: n[C.foreignAcks],
    spool: {
      spooled: n[C.spooled],
      replayed: n[C.replayed],
      recovered: n[C.recovered],
      recoveredDropped: n[C.recoveredDropped],
      bytes: n[C.spoolBytes],
      full: n[C.spoolFull] === 1,
      failed: n[C.spoolFailed] === 1,
      damaged: { segments: n[C.spoolBadSegments], records: n[C.spoolBadRecords], bytes: n[C.spoolBadBytes] },
    },
  };
}

export function hostCost(v: RingViews): EventStoreStatus["host"] {
  const n = v.counters;
  return {
    hookCalls: n[C.hookCalls],
    costNsPerCall: n[C.hookCostSamples] > 0 ? Math.round(n[C.hookCostNs] / n[C.hookCostSamples]) : 0,
  };
}

export function ringUsage(v: RingViews): EventStoreStatus["ring"] {
  // A worker that is not running (or not looking) cannot have seen what is in use now.
  const used = ringUsed(v);
  return { capacityBytes: v.capacity, usedBytes: used, highWaterBytes: Math.max(used, v.counters[C.ringHighWater]) };
}

const decode = (encoded: string) => hdr.decodeFromCompressedBase64(encoded, LATENCY_HISTOGRAM.bitBucketSize);

const EMPTY: Percentiles = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

/** Merges compressed histograms (microseconds) and returns percentiles in milliseconds. */
export function percentiles(encoded: string[]): Percentiles {
  if (encoded.length === 0) return EMPTY;
  const total = hdr.build(LATENCY_HISTOGRAM);
  for (const e of encoded) total.add(decode(e));
  if (total.totalCount === 0) return EMPTY;
  const ms = (p: number) => Math.round(total.getValueAtPercentile(p)) / 1000;
  return { count: total.totalCount, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: total.maxValue / 1000 };
}

/** Two workers' snapshots as one (their histograms added, their CPU summed). */
export function mergeSnapshots(a: LatencySnapshot, b: LatencySnapshot): LatencySnapshot {
  const add = (x: string, y: string) => {
    const h = decode(x);
    h.add(decode(y));
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
