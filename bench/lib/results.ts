// Turns what a run measured into the row the table, the JSON and the report show.
import { decode, percentileMs, summarize } from "./latency.ts";
import type { LimitResult } from "../modes/limit.ts";
import type { LatencyBasis, MicroResult, ModeName, RunResult, ScenarioSpec } from "./types.ts";

/**
 * CPU time per 1,000 events (ms, i.e. µs per event) by where it ran, during the measured part: the
 * host (main) thread of the bench process, the paced load generator's waits on it, the plugin's
 * publisher worker thread, the process's other threads (GC, libuv), the embedded nats-server, and the
 * Go bench tool (limit mode). null where that part does not exist in the mode or could not be
 * measured (NATS_URL, no /proc).
 */
export interface CpuSplit {
  host: number | null;
  /** The paced load generator's precise waits on the host thread (estimated; paced scenarios only). */
  generator: number | null;
  worker: number | null;
  otherThreads: number | null;
  server: number | null;
  tool: number | null;
}

export interface Row {
  scenario: string;
  mode: ModeName;
  /** Events offered in the measured part. */
  events: number;
  /** Acked events per second (consumer-read: messages read per second). */
  eventsPerSec: number;
  /** eventsPerSec x envelope bytes, in MB/s (10^6 bytes). */
  mbPerSec: number;
  /** eventsPerSec / the ceiling's eventsPerSec in the same scenario of the same run. */
  vsCeiling: number | null;
  /** eventsPerSec / the limit mode's (the Go `nats bench` tool) in the same scenario; null where it is n/a. */
  vsLimit: number | null;
  latencyBasis: LatencyBasis;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  /** Time inside the capture / publish call on the host thread, per event (ns, wall clock). */
  hostNsPerEvent: number | null;
  /** CPU time of the host thread during the run per event (ns): the calls, ack handling, the load driver. */
  hostCpuNsPerEvent: number | null;
  /** Host event-loop figures and RSS of the run's Node process; null for the limit mode (a Go program). */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  elu: number | null;
  /** Peak RSS of the run's process (MB), and its RSS when the measured part started. */
  rssMb: number | null;
  rssStartMb: number | null;
  /** CPU time of the whole bench process (every thread) per acked event (µs). */
  cpuUsPerEvent: number | null;
  /** CPU time of the embedded nats-server per acked event (µs); null with NATS_URL. */
  serverCpuUsPerEvent: number | null;
  /** Where the CPU went, per 1,000 acked events (ms). */
  cpuMsPer1k: CpuSplit;
  /** CPU cores kept busy on average during the measured part: every part of cpuMsPer1k over the wall time. */
  cores: number | null;
  errors: number;
  dropped: number;
  acked: number;
  /** Messages of the measured part found in the stream afterwards (its count minus the warm-up). */
  stored: number;
  /**
   * Nothing lost or unaccounted for: every event offered and not dropped is stored exactly once
   * (read back where the scenario reads) and was either acked or reported as failed (`errors`).
   */
  verified: boolean;
  seconds: number;
  /** Wall time of the whole run: process start or reuse, connect, warm-up, run, checks. */
  wallSec: number;
  envelopeBytes: number;
  /** paced scenarios: how late the load generator offered events (p50, p99, ms), and the mode's own call->ack p99. */
  genLateP50Ms?: number;
  genLateP99Ms?: number;
  /** paced scenarios: p50 and p99 from the moment each event was offered (not intended) to stored. */
  fromOfferP50Ms?: number;
  fromOfferP99Ms?: number;
  ackP99Ms?: number;
  curve: [number, number][] | null;
  notes: string[];
}

export interface Header {
  date: string;
  node: string;
  /** The server's version, from its INFO (e.g. 2.15.3). */
  natsServer: string;
  server: "embedded" | "NATS_URL";
  /** The embedded server's binary; null with NATS_URL. */
  natsServerBin: string | null;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  quick: boolean;
  only: string[] | null;
  /** The project commit measured ("+dirty": uncommitted changes in src/ or workers/). */
  commit: string;
  idleLoopDelayP99Ms: number;
  /**
   * The limit mode's tool: the `nats` CLI binary and its version, and the batch of `js pub async`;
   * null when it could not be found (the limit rows are missing then, and why is in `limitNote`).
   */
  limitTool: { bin: string; version: string; batch: number } | null;
  limitNote?: string;
  durationSec: number;
}

export interface BenchReport {
  header: Header;
  micro: MicroResult[];
  results: Row[];
  scenarios: Pick<ScenarioSpec, "id" | "title" | "limit">[];
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export function toRow(r: RunResult, stored: number, serverCpuMs: number | null, wallSec: number): Row {
  const lat = r.latency ? summarize(decode(r.latency)) : null;
  const isRead = r.latencyBasis === "none";
  const done = isRead ? (r.readBack?.messages ?? 0) : r.acked;
  const eventsPerSec = r.seconds > 0 ? Math.round(done / r.seconds) : 0;
  const rb = r.readBack;
  const expected = r.sent - r.dropped;
  // Offloaded errors are retried (acked later); inline and ceiling errors are final.
  const offloaded = r.mode.startsWith("offloaded");
  const accounted = offloaded ? r.acked === expected : r.acked + r.errors === expected;
  const verified = accounted && stored === expected && (!rb || (rb.missing === 0 && rb.duplicates === 0));
  const notes = [...r.notes];
  if (r.errors > 0 && !offloaded && stored === expected) {
    notes.push(
      `${r.errors} publishes reported failed (timed out) although JetStream stored every event: ` +
        "the host was too busy to take the acks in time",
    );
  }
  if (stored !== expected) notes.push(`stream holds ${stored} of the ${expected} events offered and not dropped`);
  if (rb && (rb.missing || rb.duplicates))
    notes.push(`read-back: ${rb.missing} missing, ${rb.duplicates} duplicated or unknown`);
  const perEvent = done > 0 ? 1 / done : 0;
  const per1k = (ms: number | null) => (ms !== null && done > 0 ? round((ms * 1000) / done, 2) : null);
  const h = r.host;
  const gen = h.generatorCpuMs ?? null;
  const split: CpuSplit = {
    host: per1k(h.hostThreadCpuMs),
    generator: per1k(gen),
    worker: per1k(h.workerThreadCpuMs),
    otherThreads: per1k(Math.max(0, h.cpuMs - h.hostThreadCpuMs - (gen ?? 0) - (h.workerThreadCpuMs ?? 0))),
    server: per1k(serverCpuMs),
    tool: null,
  };
  const genLate = r.genLate ? decode(r.genLate) : null;
  const fromOffer = r.fromOffer ? decode(r.fromOffer) : null;
  return {
    scenario: r.scenario,
    mode: r.mode,
    events: r.sent,
    eventsPerSec,
    mbPerSec: round((eventsPerSec * r.envelopeBytes) / 1e6, 2),
    vsCeiling: null,
    vsLimit: null,
    latencyBasis: r.latencyBasis,
    p50Ms: lat?.p50Ms ?? null,
    p99Ms: lat?.p99Ms ?? null,
    p999Ms: lat?.p999Ms ?? null,
    maxMs: lat?.maxMs ?? null,
    hostNsPerEvent: r.hostCalls > 0 ? Math.round(r.hostNs / r.hostCalls) : null,
    hostCpuNsPerEvent: done > 0 ? Math.round(r.host.hostThreadCpuMs * 1e6 * perEvent) : null,
    loopDelayP99Ms: r.host.loopDelayP99Ms,
    loopDelayMaxMs: r.host.loopDelayMaxMs,
    elu: r.host.elu,
    rssMb: r.host.rssPeakMb,
    rssStartMb: r.host.rssStartMb,
    cpuUsPerEvent: done > 0 ? round(r.host.cpuMs * 1000 * perEvent, 2) : null,
    serverCpuUsPerEvent: serverCpuMs !== null && done > 0 ? round(serverCpuMs * 1000 * perEvent, 2) : null,
    cpuMsPer1k: split,
    cores: coresBusy(split, done, r.seconds),
    errors: r.errors,
    dropped: r.dropped,
    acked: r.acked,
    stored,
    verified,
    seconds: round(r.seconds, 3),
    wallSec: round(wallSec, 1),
    envelopeBytes: r.envelopeBytes,
    ...(genLate ? { genLateP50Ms: percentileMs(genLate, 50), genLateP99Ms: percentileMs(genLate, 99) } : {}),
    ...(fromOffer ? { fromOfferP50Ms: percentileMs(fromOffer, 50), fromOfferP99Ms: percentileMs(fromOffer, 99) } : {}),
    ...(r.ackLatency ? { ackP99Ms: percentileMs(decode(r.ackLatency), 99) } : {}),
    curve: lat?.curve ?? null,
    notes,
  };
}

/** Average cores busy: the CPU of every measured part over the wall time of the measured part. */
function coresBusy(split: CpuSplit, events: number, seconds: number): number | null {
  const parts = Object.values(split).filter((v): v is number => v !== null);
  if (parts.length === 0 || seconds <= 0) return null;
  const ms = (parts.reduce((a, b) => a + b, 0) * events) / 1000;
  return round(ms / (seconds * 1000), 2);
}

/** Fills vsCeiling and vsLimit for every row of a scenario from its ceiling and limit rows. */
export function addRatios(rows: Row[]): void {
  const ratio = (r: Row, base: Row | undefined) =>
    base && base.eventsPerSec > 0 ? round(r.eventsPerSec / base.eventsPerSec, 2) : null;
  const ceiling = rows.find((r) => r.mode === "ceiling");
  const limit = rows.find((r) => r.mode === "limit");
  for (const r of rows) {
    r.vsCeiling = ratio(r, ceiling);
    r.vsLimit = ratio(r, limit);
  }
}

/**
 * The figures a row has none of when no plugin ran in a Node process (a limit-mode run is the Go
 * tool; a failed run measured nothing): no latency, host thread, event loop or RSS, and the ratios
 * not yet filled in (addRatios).
 */
const NO_LATENCY_OR_HOST = {
  vsCeiling: null,
  vsLimit: null,
  latencyBasis: "none",
  p50Ms: null,
  p99Ms: null,
  p999Ms: null,
  maxMs: null,
  hostNsPerEvent: null,
  hostCpuNsPerEvent: null,
  loopDelayP99Ms: null,
  loopDelayMaxMs: null,
  elu: null,
  rssMb: null,
  rssStartMb: null,
} as const satisfies Partial<Row>;

/** The row of a limit-mode run (the Go tool): throughput and CPU, no latency or host figures. */
export function limitRow(r: LimitResult, stored: number, wallSec: number): Row {
  const verified = stored === r.sent;
  const per1k = (ms: number | null) => (ms !== null && r.sent > 0 ? round((ms * 1000) / r.sent, 2) : null);
  const split: CpuSplit = {
    host: null,
    generator: null,
    worker: null,
    otherThreads: null,
    server: per1k(r.serverCpuMs),
    tool: per1k(r.toolCpuMs),
  };
  const notes = [`${r.command}`, ...r.notes];
  if (!verified) notes.push(`stream holds ${stored} of the ${r.sent} messages the tool published`);
  return {
    scenario: r.scenario,
    mode: "limit",
    events: r.sent,
    eventsPerSec: r.eventsPerSec,
    mbPerSec: round((r.eventsPerSec * r.envelopeBytes) / 1e6, 2),
    ...NO_LATENCY_OR_HOST,
    cpuUsPerEvent: split.tool,
    serverCpuUsPerEvent: split.server,
    cpuMsPer1k: split,
    cores: coresBusy(split, r.sent, r.seconds),
    errors: 0,
    dropped: 0,
    acked: r.sent,
    stored,
    verified,
    seconds: round(r.seconds, 3),
    wallSec: round(wallSec, 1),
    envelopeBytes: r.envelopeBytes,
    curve: null,
    notes,
  };
}

/** A row for a run that failed outright (the error is in its notes). */
export function failedRow(scenario: string, mode: ModeName, events: number, error: string): Row {
  return {
    scenario,
    mode,
    events,
    eventsPerSec: 0,
    mbPerSec: 0,
    ...NO_LATENCY_OR_HOST,
    cpuUsPerEvent: null,
    serverCpuUsPerEvent: null,
    cpuMsPer1k: { host: null, generator: null, worker: null, otherThreads: null, server: null, tool: null },
    cores: null,
    errors: 1,
    dropped: 0,
    acked: 0,
    stored: 0,
    verified: false,
    seconds: 0,
    wallSec: 0,
    envelopeBytes: 0,
    curve: null,
    notes: [`run failed: ${error.split("\n")[0]}`],
  };
}
