// Messages between the host side and the publisher worker (over the worker's parentPort).
import type { EventStoreConfig, PublishMode } from "./config.ts";

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
  messages?: number;
  bytes?: number;
  warning?: string;
  /** How records are published and acked; with publishMode "fast-batch", why the inbox path is used instead. */
  publishMode?: PublishMode;
  publishModeNote?: string;
}

export interface LatencySnapshot {
  /** Compressed HdrHistogram (base64), microseconds: capture -> ack and publish -> ack. */
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
