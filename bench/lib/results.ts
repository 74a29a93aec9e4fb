// Turns what a run measured into the row the table, the JSON and the report show.
import { decode, percentileMs, summarize } from "./latency.ts";
import type { LatencyBasis, MicroResult, ModeName, RunResult, ScenarioSpec } from "./types.ts";

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
  latencyBasis: LatencyBasis;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  /** Time inside the capture / publish call on the host thread, per event (ns, wall clock). */
  hostNsPerEvent: number | null;
  /** CPU time of the host thread during the run per event (ns): the calls, ack handling, the load driver. */
  hostCpuNsPerEvent: number | null;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  elu: number;
  /** Peak RSS of the run's process (MB), and its RSS when the measured part started. */
  rssMb: number;
  rssStartMb: number;
  /** CPU time of the whole bench process (every thread) per acked event (µs). */
  cpuUsPerEvent: number | null;
  /** CPU time of the embedded nats-server per acked event (µs); null with NATS_URL. */
  serverCpuUsPerEvent: number | null;
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
  /** paced scenarios: how late the generator offered events (p99, ms), and the mode's own call->ack p99. */
  scheduleLagP99Ms?: number;
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
  durationSec: number;
}

export interface BenchReport {
  header: Header;
  micro: MicroResult[];
  results: Row[];
  scenarios: Pick<ScenarioSpec, "id" | "title">[];
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
      `${r.errors} publishes reported failed (timed out) although JetStream stored every event: the host was too busy to take the acks in time`,
    );
  }
  if (stored !== expected) notes.push(`stream holds ${stored} of the ${expected} events offered and not dropped`);
  if (rb && (rb.missing || rb.duplicates))
    notes.push(`read-back: ${rb.missing} missing, ${rb.duplicates} duplicated or unknown`);
  const perEvent = done > 0 ? 1 / done : 0;
  return {
    scenario: r.scenario,
    mode: r.mode,
    events: r.sent,
    eventsPerSec,
    mbPerSec: round((eventsPerSec * r.envelopeBytes) / 1e6, 2),
    vsCeiling: null,
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
    errors: r.errors,
    dropped: r.dropped,
    acked: r.acked,
    stored,
    verified,
    seconds: round(r.seconds, 3),
    wallSec: round(wallSec, 1),
    envelopeBytes: r.envelopeBytes,
    ...(r.scheduleLag ? { scheduleLagP99Ms: percentileMs(decode(r.scheduleLag), 99) } : {}),
    ...(r.ackLatency ? { ackP99Ms: percentileMs(decode(r.ackLatency), 99) } : {}),
    curve: lat?.curve ?? null,
    notes,
  };
}

/** Fills vsCeiling for every row of a scenario from its ceiling row. */
export function addRatios(rows: Row[]): void {
  const ceiling = rows.find((r) => r.mode === "ceiling");
  for (const r of rows)
    r.vsCeiling = ceiling && ceiling.eventsPerSec > 0 ? round(r.eventsPerSec / ceiling.eventsPerSec, 2) : null;
}

/** A row for a run that failed outright (the error is in its notes). */
export function failedRow(scenario: string, mode: ModeName, events: number, error: string): Row {
  return {
    scenario,
    mode,
    events,
    eventsPerSec: 0,
    mbPerSec: 0,
    vsCeiling: null,
    latencyBasis: "none",
    p50Ms: null,
    p99Ms: null,
    p999Ms: null,
    maxMs: null,
    hostNsPerEvent: null,
    hostCpuNsPerEvent: null,
    loopDelayP99Ms: 0,
    loopDelayMaxMs: 0,
    elu: 0,
    rssMb: 0,
    rssStartMb: 0,
    cpuUsPerEvent: null,
    serverCpuUsPerEvent: null,
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
