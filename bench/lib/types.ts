// Types shared by the orchestrator (bench/run.ts), the per-run child process and the modes.

export type ModeName = "ceiling" | "inline" | "offloaded" | "offloaded-noredact" | "offloaded-async" | "limit";
/** The modes every scenario runs. */
export const MODES: readonly ModeName[] = ["ceiling", "inline", "offloaded"];
/**
 * The plugin with secret redaction off (redact: false), run beside "offloaded" in the scenarios
 * that list it (ScenarioSpec.extraModes): what the redaction costs the worker in throughput.
 */
export const NO_REDACT: ModeName = "offloaded-noredact";
/**
 * The server's own limit: the official `nats bench js pub` (Go, natscli) against the same server and
 * stream settings, run by the orchestrator (bench/modes/limit.ts) in the scenarios it can emulate.
 */
export const LIMIT: ModeName = "limit";
/** The plugin with persistMode "async" (the server acks before the disk write), where scenarios list it. */
export const ASYNC_PERSIST: ModeName = "offloaded-async";
/** Every mode, in the order the tables show them. */
export const MODE_ORDER: readonly ModeName[] = [LIMIT, ...MODES, NO_REDACT, ASYNC_PERSIST];

/**
 * How the limit mode emulates a scenario: `nats bench js pub async` (batches of pipelined acks) for
 * full speed, `js pub sync` (each publish waits for its ack) for one sequential caller; or why it
 * cannot (`na`), e.g. a fixed offered rate timed per event.
 */
export type LimitShape = { tool: "async" | "sync" } | { na: string };

/**
 * How events are offered.
 * - closed: `callers` callers, each sending its next event once the previous one is acked
 *   (inline, ceiling). The offloaded mode cannot wait for acks (hooks never do): it captures
 *   `callers` events per event-loop turn instead, and only backs off when its backlog is large.
 *   "full" is each mode's full speed: ceiling and offloaded keep the plugin's in-flight window
 *   (maxInFlight) busy, inline runs `inlineFullCallers` concurrent callers.
 * - paced: a fixed offered rate, `burst` events at a time (1 = evenly spaced). Every event has
 *   an intended time; latency is measured from it (no coordinated omission).
 * - read: fill the stream at full speed, then read it back with an ordered consumer.
 */
export type Load =
  | { kind: "closed"; callers: number | "full" }
  | { kind: "paced"; rate: number; burst: number }
  | { kind: "read" };

export interface ScenarioSpec {
  id: string;
  title: string;
  load: Load;
  /** Events to send (count-based scenarios); the set every mode sees. */
  events: number;
  /** Duration-based scenarios run this long instead, cycling through `events` distinct events. */
  durationMs?: number;
  /** JSON size of each event's payload object (the hook's data), in bytes. */
  payloadBytes: number;
  /** Agents x event types: 1 x 1 is one subject, 8 x 7 the 56-subject fan-out. */
  agents: number;
  types: number;
  /** Events sent (and acked) before measuring, into the same stream. */
  warmup: number;
  /** Each payload holds secrets (an AWS credentials file, a bearer token) that the plugin redacts. */
  secrets?: boolean;
  /** Modes run besides MODES (the plugin with redaction off). */
  extraModes?: ModeName[];
  /** The limit mode's way of running this scenario, or why it cannot. */
  limit: LimitShape;
}

export interface RunSpec {
  scenario: ScenarioSpec;
  mode: ModeName;
  url: string;
  stream: string;
  subjectPrefix: string;
  /** The plugin's in-flight window (maxInFlight); the ceiling uses the same window at full speed. */
  maxInFlight: number;
  /** Concurrent callers of the inline mode at full speed. */
  inlineFullCallers: number;
  /** Give up waiting for acks this long after the last event was offered. */
  settleTimeoutMs: number;
}

export interface HostFigures {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  elu: number;
  rssStartMb: number;
  rssPeakMb: number;
  /**
   * CPU time of the whole process (every thread), and of the host (main) thread alone, without the
   * paced load generator's precise waits (generatorCpuMs, null in other loads).
   */
  cpuMs: number;
  hostThreadCpuMs: number;
  generatorCpuMs: number | null;
  /** CPU time of the plugin's publisher worker thread (offloaded modes; /proc, Linux), else null. */
  workerThreadCpuMs: number | null;
}

export interface RunResult {
  scenario: string;
  mode: ModeName;
  /** Events offered in the measured part (not counting warm-up). */
  sent: number;
  acked: number;
  errors: number;
  dropped: number;
  /** From the first offered event to the last ack (or the end of the read). */
  seconds: number;
  /** Average body bytes of the published envelope. */
  envelopeBytes: number;
  /** Time spent inside the capture / publish call on the host thread, summed (ns), and the calls measured. */
  hostNs: number;
  hostCalls: number;
  /** Compressed HdrHistogram (µs) of the latency the row reports, and what it measures. */
  latency: string;
  latencyBasis: LatencyBasis;
  /** The mode's own capture->ack histogram (µs), when the row reports another basis. */
  ackLatency?: string;
  /** paced: how late the load generator offered events (µs), intended -> call. */
  genLate?: string;
  /** paced: offered (the call) -> stored (µs): the latency without the generator's lateness. */
  fromOffer?: string;
  host: HostFigures;
  /** read scenario: the fill that came before the read. */
  fill?: { events: number; seconds: number };
  /** Read-back check (paced and read scenarios): messages found, missing and duplicated. */
  readBack?: { messages: number; missing: number; duplicates: number; clockSkewMs: number };
  notes: string[];
}

export type LatencyBasis = "capture->ack" | "intended->stored" | "none";

export type ChildMessage =
  | { t: "progress"; sent: number; acked: number; elapsedMs: number; phase: string }
  /** Sent when the measured part starts and ends (the parent samples the server's CPU then). */
  | { t: "mark"; at: "start" | "end" }
  | { t: "result"; result: RunResult }
  | { t: "micro"; result: MicroResult[] }
  | { t: "error"; message: string };

export type ParentMessage = { t: "run"; spec: RunSpec } | { t: "micro"; url: string; quick: boolean } | { t: "exit" };

export interface MicroResult {
  name: string;
  /** Per event (the task loops `perIteration` calls and divides). */
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  perIteration: number;
  samples: number;
  rmePct: number;
  notes: string;
}
