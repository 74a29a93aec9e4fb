// Runs the publisher worker and keeps it running: a worker that dies is replaced with capped
// exponential backoff, and the new one resumes from the ring's release cursor. The worker is
// unref'd so it never keeps the host process alive.
import { Worker } from "node:worker_threads";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { EventStoreConfig } from "./config.ts";
import { C, type RingViews } from "./ring/layout.ts";
import { parseNatsUrl, redactUrl, secretsOf } from "./nats-url.ts";
import { mergeSnapshots } from "./status.ts";
import type { ConnectionState, HostMessage, LatencySnapshot, StreamInfoSummary, WorkerData, WorkerMessage } from "./worker-protocol.ts";

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

// Built code runs dist/workers/publisher.js; tests run the TypeScript source directly (Node 24
// strips the types), so the worker file takes the extension of this module.
const WORKER_URL = new URL(`../workers/publisher${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A worker that ran this long before dying starts the backoff again from the minimum. */
const HEALTHY_RUN_MS = 30_000;

export class WorkerSupervisor {
  connection: ConnectionState = "closed";
  server: string | undefined;
  stream: StreamInfoSummary | undefined;
  lastError: string | undefined;
  /** Latency and CPU of the workers that have exited (their last snapshots, merged: bounded however often they die). */
  pastLatency: LatencySnapshot | undefined;

  private worker: Worker | undefined;
  private stopping = false;
  private backoffMs = BACKOFF_MIN_MS;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextRequest = 1;
  private readonly waiting = new Map<number, (s: LatencySnapshot | undefined) => void>();
  private lastSnapshot: LatencySnapshot | undefined;
  private stopped: ((unacked: number) => void) | undefined;

  private readonly views: RingViews;
  private readonly config: EventStoreConfig;
  private readonly logger: Logger;
  /** The credentials of natsUrl, masked in every text that comes from the worker. */
  private readonly secrets: string[];

  constructor(views: RingViews, config: EventStoreConfig, logger: Logger) {
    this.views = views;
    this.config = config;
    this.logger = logger;
    this.secrets = secretsOf(parseNatsUrl(config.natsUrl));
  }

  /**
   * Every text from the worker (log lines, connection errors, the server, stream warnings, a crash)
   * passes here before it reaches a log, status or a chat: the NATS client or an error from it may
   * quote a URL or a credential.
   */
  private safe(text: string): string {
    return redactUrl(text, this.secrets);
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  private spoolDir = "";

  /** Starts the worker (once); `spoolDir` is where it may spool events ("" for no spool). */
  start(spoolDir = ""): void {
    this.stopping = false;
    this.spoolDir = spoolDir;
    if (!this.worker) this.spawn();
  }

  private spawn(): void {
    this.restartTimer = undefined;
    this.startedAt = Date.now();
    this.views.counters[C.workerStarts]++;
    const w = new Worker(WORKER_URL, {
      name: "nats-eventstore-publisher",
      workerData: { sab: this.views.sab, config: this.config, spoolDir: this.spoolDir } satisfies WorkerData,
    });
    w.unref();
    this.worker = w;
    w.on("message", (m: WorkerMessage) => this.onMessage(m));
    w.on("error", (e) => {
      this.lastError = this.safe(e instanceof Error ? e.message : String(e));
      this.logger.error(`[nats-eventstore] publisher worker failed: ${this.lastError}`);
    });
    w.on("exit", (code) => this.onExit(w, code));
  }

  private onExit(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.connection = "closed";
    if (this.lastSnapshot) this.pastLatency = this.pastLatency ? mergeSnapshots(this.pastLatency, this.lastSnapshot) : this.lastSnapshot;
    this.lastSnapshot = undefined;
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
    if (this.stopping) {
      this.stopped?.(-1);
      return;
    }
    this.views.counters[C.workerCrashes]++;
    if (Date.now() - this.startedAt > HEALTHY_RUN_MS) this.backoffMs = BACKOFF_MIN_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.logger.warn(`[nats-eventstore] publisher worker exited (code ${code}); restarting in ${delay} ms, unacked events stay queued`);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
    this.restartTimer.unref();
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.t) {
      case "log":
        this.logger[m.level](`[nats-eventstore] ${this.safe(m.msg)}`);
        break;
      case "connection":
        this.connection = m.state;
        if (m.server) this.server = this.safe(m.server);
        if (m.error) this.lastError = this.safe(m.error);
        else if (m.state === "connected") this.lastError = undefined;
        break;
      case "stream":
        this.stream = m.info;
        if (m.info.warning !== undefined) this.stream = { ...m.info, warning: this.safe(m.info.warning) };
        break;
      case "latency":
        this.lastSnapshot = m.snapshot;
        this.waiting.get(m.id)?.(m.snapshot);
        this.waiting.delete(m.id);
        break;
      case "stopped":
        this.stopped?.(m.unacked);
        break;
    }
  }

  private send(m: HostMessage): void {
    this.worker?.postMessage(m);
  }

  /** The running worker's latency histograms, or its last known ones if it does not answer in time. */
  latency(timeoutMs = 1000): Promise<LatencySnapshot | undefined> {
    if (!this.worker) return Promise.resolve(undefined);
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(this.lastSnapshot);
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.send({ t: "latency", id });
    });
  }

  /**
   * Asks the worker to publish what is queued and wait for the acks until `timeoutMs`, then close
   * its connection; terminates it if it does not finish in time. Resolves to the bytes left unacked.
   */
  async stop(timeoutMs: number): Promise<number> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const w = this.worker;
    if (!w) return 0;
    const done = new Promise<number>((resolve) => (this.stopped = resolve));
    this.send({ t: "stop", deadline: performance.timeOrigin + performance.now() + timeoutMs });
    const grace = new Promise<number>((resolve) => setTimeout(() => resolve(-1), timeoutMs + 1000).unref());
    const unacked = await Promise.race([done, grace]);
    this.stopped = undefined;
    if (this.worker === w) await w.terminate();
    this.worker = undefined;
    this.connection = "closed";
    return unacked;
  }
}
