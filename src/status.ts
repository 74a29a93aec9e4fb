// Status in one place: what it holds (EventStoreStatus, PluginStatus), the one-word state, and how
// it is read: counters straight from shared memory, rates from the pipeline's time-stamped samples,
// latency percentiles from the worker's HDR histograms. Reading status changes nothing a later read
// sees. Nothing here carries credentials (server URLs are redacted). /eventstatus renders it
// (status-text.ts); eventstore.status returns it as is.
import * as hdr from "hdr-histogram-js";
import type { EventStoreConfig } from "./config.ts";
import { HOOKS } from "./hooks/table.ts";
import type { EventPipeline } from "./pipeline.ts";
import { PLUGIN_ID } from "./plugin-id.ts";
import { pluginState } from "./plugin-state.ts";
import { COUNTER_SLOTS, Counter, ringUsed, type RingViews } from "./ring/layout.ts";
import {
  type ConnectionState,
  LATENCY_HISTOGRAM,
  type LatencySnapshot,
  type StreamInfoSummary,
} from "./worker-protocol.ts";
import type { Rates } from "./rate-window.ts";

/**
 * What the plugin is doing, in one word (README, Status), besides "disabled" (`enabled: false` or an
 * invalid config: nothing is captured):
 * - not started: registered, its service not started yet; events captured meanwhile wait in the ring.
 * - starting: the service started; the publisher is connecting for the first time since.
 * - running: connected; events go to JetStream.
 * - degraded: started, but events cannot be stored now (connection lost or refused, the worker
 *   restarting or stalled); they wait in the ring or the spool. `connection` and `lastError` say why.
 * - stopping: a worker publishes what is queued and spools the rest (at stop, or for events
 *   captured after it).
 * - stopped: the service stopped.
 */
export type PipelineState = "not started" | "starting" | "running" | "degraded" | "stopping" | "stopped";

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
  state: PipelineState;
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

/** What /eventstatus and eventstore.status report: disabled, or the pipeline's status with hints. */
export type PluginStatus = { state: "disabled"; enabled: false; error?: string } | EnabledStatus;
export type EnabledStatus = EventStoreStatus & { hints: string[] };

/** The plugin's status: its config error, disabled, not started (no pipeline yet), or its pipeline's. */
export async function collectStatus(): Promise<PluginStatus> {
  const st = pluginState();
  if (st.configError) return { state: "disabled", enabled: false, error: `invalid config: ${st.configError}` };
  if (st.disabled) return { state: "disabled", enabled: false };
  const p = st.pipeline;
  const status = p ? await pipelineStatus(p) : notStarted();
  return { ...status, hints: hints(p?.config ?? st.config) };
}

/** A pipeline's status. Asks its worker for latency figures; changes nothing a later read sees. */
export async function pipelineStatus(p: EventPipeline): Promise<EventStoreStatus> {
  const s = p.supervisor;
  const current = await s.latency();
  const snapshots: LatencySnapshot[] = [...(s.pastLatency ? [s.pastLatency] : []), ...(current ? [current] : [])];
  const counters = readCounters(p.views.counters);
  return {
    state: s.state,
    enabled: true,
    connection: {
      state: s.connection,
      ...(s.server ? { server: s.server } : {}),
      ...(s.connection === "stalled" && s.lastStall ? { reason: s.lastStall.reason } : {}),
    },
    ...(s.stream ? { stream: s.stream } : {}),
    counters,
    rates: p.rateWindow.rates(performance.now(), counters.captured, counters.acked),
    ring: ringUsage(p.views),
    latency: latencyPercentiles(snapshots),
    host: hostCost(p.views.counters),
    worker: { ...workerCpu(snapshots, counters.acked), ...(s.lastStall ? { lastStall: s.lastStall } : {}) },
    ...(s.lastError ? { lastError: s.lastError } : {}),
  };
}

const CONVERSATION_TYPES = HOOKS.filter((h) => h.conversation).flatMap((h) => [
  h.type,
  ...(h.also ? [h.also.type] : []),
]);

/** What an operator should know about the settings (events the host withholds, privacy, redaction off). */
function hints(config: EventStoreConfig | undefined): string[] {
  const out: string[] = [];
  if (pluginState().conversationAccess === false) {
    out.push(
      `${CONVERSATION_TYPES.join(", ")} are not delivered: OpenClaw withholds llm_input, llm_output and agent_end ` +
        `from non-bundled plugins unless plugins.entries.${PLUGIN_ID}.hooks.allowConversationAccess is true`,
    );
  }
  if (config?.privacy === "metadata") {
    out.push("privacy is metadata: message text, prompts, tool data and errors are reduced to kinds, lengths, counts");
  }
  if (config?.redact === false) {
    out.push("secret redaction is off (redact: false): API keys, tokens and passwords in events are published as is");
  }
  return out;
}

/** The counters named in `keys`, each read from the slot of the same name, in the order given. */
function slots<K extends keyof typeof Counter>(n: Float64Array, keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = n[Counter[k]];
  return out;
}

function readCounters(n: Float64Array): Counters {
  const dropped = {
    ringFull: n[Counter.droppedRingFull],
    tooLarge: n[Counter.droppedTooLarge],
    rejected: n[Counter.rejected],
    undeliverable: n[Counter.undeliverable],
    total: 0,
  };
  dropped.total = dropped.ringFull + dropped.tooLarge + dropped.rejected + dropped.undeliverable;
  return {
    ...slots(n, ["captured", "written", "published", "acked", "duplicates"]),
    ...slots(n, ["failed", "timeouts", "retried", "reconnects", "inFlight"]),
    pending: Math.max(0, n[Counter.written] - n[Counter.acked] - n[Counter.undeliverable]),
    dropped,
    ...slots(n, ["truncated", "sanitized", "redactions", "redactedEvents"]),
    ...slots(n, ["workerStarts", "workerCrashes", "workerStalls", "foreignAcks"]),
    spool: {
      ...slots(n, ["spooled", "replayed", "recovered", "recoveredDropped"]),
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

function hostCost(n: Float64Array): EventStoreStatus["host"] {
  return {
    hookCalls: n[Counter.hookCalls],
    costNsPerCall: n[Counter.hookCostSamples] > 0 ? Math.round(n[Counter.hookCostNs] / n[Counter.hookCostSamples]) : 0,
  };
}

function ringUsage(v: RingViews): EventStoreStatus["ring"] {
  // A worker that is not running (or not looking) cannot have seen what is in use now.
  const used = ringUsed(v);
  return {
    capacityBytes: v.capacity,
    usedBytes: used,
    highWaterBytes: Math.max(used, v.counters[Counter.ringHighWater]),
  };
}

const decode = (encoded: string) => hdr.decodeFromCompressedBase64(encoded, LATENCY_HISTOGRAM.bitBucketSize);

const EMPTY: Percentiles = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

/** Before the first event or start: no ring yet, nothing counted, no connection. */
const notStarted = (): EventStoreStatus => ({
  state: "not started",
  enabled: true,
  connection: { state: "closed" },
  counters: readCounters(new Float64Array(COUNTER_SLOTS)),
  rates: { capturedPerSec: 0, ackedPerSec: 0, windowSec: 0 },
  ring: { capacityBytes: 0, usedBytes: 0, highWaterBytes: 0 },
  latency: { captureToAck: EMPTY, publishToAck: EMPTY },
  host: { hookCalls: 0, costNsPerCall: 0 },
  worker: { cpuMs: 0, cpuNsPerEvent: 0 },
});

/** Merges compressed histograms (microseconds) and returns percentiles in milliseconds. */
function percentiles(encoded: string[]): Percentiles {
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

function workerCpu(snapshots: LatencySnapshot[], acked: number): EventStoreStatus["worker"] {
  const us = snapshots.reduce((n, s) => n + (s.cpuUs ?? 0), 0);
  return { cpuMs: Math.round(us / 1000), cpuNsPerEvent: acked > 0 ? Math.round((us * 1000) / acked) : 0 };
}
