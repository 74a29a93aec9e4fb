// Messages between the host side and the publisher worker (over the worker's parentPort).
import type { EventStoreConfig, PersistMode, PublishMode } from "./config.ts";

export interface WorkerData {
  sab: SharedArrayBuffer;
  config: EventStoreConfig;
  /** Where the worker spools events while NATS is unreachable ("" for no spool). */
  spoolDir: string;
}

/** "stalled" is the host's: its watchdog found the worker making no progress and is replacing it. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed" | "stalled";

export interface StreamInfoSummary {
  name: string;
  /** not-checked: the NATS user may not use the stream API; events go into the stream as it is. */
  action: "created" | "updated" | "unchanged" | "not-checked" | "error";
  /** The stream's persist mode as the server reports it (absent when the stream could not be read). */
  persistMode?: PersistMode;
  messages?: number;
  bytes?: number;
  warning?: string;
  /** How records are published and acked; with publishMode "fast-batch", why the inbox path is used instead. */
  publishMode?: PublishMode;
  publishModeNote?: string;
}

/**
 * The latency histograms of a LatencySnapshot: microseconds from 1 to an hour, 3 significant
 * digits. The worker records with these settings; whoever decodes or merges its snapshots builds
 * with the same.
 */
export const LATENCY_HISTOGRAM = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 3,
  bitBucketSize: 32,
} as const;

export interface LatencySnapshot {
  /** Compressed HdrHistogram (base64, LATENCY_HISTOGRAM), microseconds: capture -> ack and publish -> ack. */
  captureToAck: string;
  publishToAck: string;
  /** CPU time the worker thread has used since it started, microseconds. */
  cpuUs: number;
}

export type WorkerMessage =
  | { t: "log"; level: "info" | "warn" | "error"; msg: string }
  | { t: "connection"; state: ConnectionState; server?: string; error?: string }
  | { t: "stream"; info: StreamInfoSummary }
  | { t: "latency"; id: number; snapshot: LatencySnapshot }
  | { t: "stopped"; unacked: number };

export type HostMessage = { t: "latency"; id: number } | { t: "stop"; deadline: number };
