// One event pipeline per process: the ring, the capture path and the worker supervisor. OpenClaw
// loads the plugin module several times (one instance per registration), so the pipeline lives on
// globalThis where every instance's hooks find the same ring.
import { randomBytes } from "node:crypto";
import type { EventStoreConfig } from "./config.ts";
import { Counter, createRing, ringViews, type RingViews } from "./ring/layout.ts";
import { EventCapture, type CaptureResult } from "./capture.ts";
import type { PluginLogger } from "./plugin-api.ts";
import { WorkerSupervisor, type WorkerHost } from "./supervisor.ts";
import { type EventStoreStatus, pipelineStatus } from "./status.ts";
import { RateWindow } from "./rate-window.ts";

export class EventPipeline {
  readonly views: RingViews;
  readonly supervisor: WorkerSupervisor;
  private readonly captureRing: EventCapture;
  /** Counters sampled every second: the rates in status. */
  readonly rateWindow = new RateWindow();
  /** Samples the counters every second for the rates in status (unref'd: never keeps the process up). */
  private readonly sampler: NodeJS.Timeout;

  readonly config: EventStoreConfig;

  constructor(config: EventStoreConfig, logger: PluginLogger) {
    this.config = config;
    this.views = ringViews(createRing(config.ringBytes, randomBytes(4).readInt32LE(0)));
    this.captureRing = new EventCapture(this.views, {
      encoding: config.encoding,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    this.supervisor = new WorkerSupervisor(this.views, config, logger);
    this.sampleRates();
    this.sampler = setInterval(() => this.sampleRates(), 1000);
    this.sampler.unref();
  }

  private sampleRates(): void {
    const n = this.views.counters;
    this.rateWindow.sample(performance.now(), n[Counter.captured], n[Counter.acked]);
  }

  /**
   * Host thread, hot path. `type` is an index into EVENT_TYPES; `label` when `agent` is the plugin's
   * label ("system", "unknown") rather than an agent id. Never throws.
   */
  capture(type: number, agent: string, session: string, payload: unknown, label = false): CaptureResult {
    const r = this.captureRing.capture(type, agent, session, payload, label);
    if (this.supervisor.idle) this.supervisor.heldWhileIdle();
    return r;
  }

  /** Counts an event a hook saw but could not turn into a record (e.g. a throwing getter). */
  reject(): void {
    this.captureRing.reject();
  }

  /**
   * Starts the publisher worker; with a `spoolDir` it spools to disk while NATS is unreachable.
   * `host`: the worker file and logger of the registration that starts it (see WorkerHost).
   */
  start(spoolDir = "", host: WorkerHost = {}): void {
    this.supervisor.start(spoolDir, host);
  }

  /** Uses the worker file and logger of `host` from now on (e.g. before a retired pipeline's stop). */
  adopt(host: WorkerHost): void {
    this.supervisor.adopt(host);
  }

  /**
   * Publishes what is queued, waits for acks up to drainTimeoutMs, spools the rest and closes the
   * connection. Resolves to the bytes that could be stored nowhere (logged with their count).
   */
  stop(): Promise<number> {
    return this.supervisor.stop(this.config.drainTimeoutMs);
  }

  /** The pipeline's status (status.ts); reading it changes nothing a later read sees. */
  status(): Promise<EventStoreStatus> {
    return pipelineStatus(this);
  }
}
