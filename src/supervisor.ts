// Runs the publisher worker and keeps it running: a worker that dies is replaced with capped
// exponential backoff, one that stalls is replaced by the watchdog, and each new one resumes from
// the ring's release cursor. At stop, whatever state the worker is in (running, crashed, in its
// restart backoff), the ring goes to the stream or the spool; what cannot is logged with its
// count. The worker is unref'd so it never keeps the host process alive.
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { EventStoreConfig } from "./config.ts";
import type { PluginLogger } from "./plugin-api.ts";
import { sharedClockMs } from "./record/format.ts";
import { recordsInRing } from "./ring/consumer.ts";
import { Counter, ringUsed, type RingViews } from "./ring/layout.ts";
import { parseNatsUrl, redactUrl, secretsOf } from "./nats-url.ts";
import { mergeSnapshots, type PipelineState } from "./status.ts";
import { ProgressWatchdog, stallBoundMs } from "./watchdog.ts";
import { DropReporter } from "./drop-report.ts";
import type {
  ConnectionState,
  HostMessage,
  LatencySnapshot,
  StreamInfoSummary,
  WorkerData,
  WorkerMessage,
} from "./worker-protocol.ts";

/**
 * What the registration that starts the pipeline provides. OpenClaw loads the plugin once per
 * registration, each copy from its own directory, and deletes a copy's directory when it retires
 * that registration (a plugin reload, or a config change of this plugin). The ring outlives them
 * all, so its worker is always started from the file of the registration that started it last.
 */
export interface WorkerHost {
  workerUrl?: URL;
  logger?: PluginLogger;
  /**
   * Node options of the worker thread, for tools only (bench/profile-worker.ts runs it under
   * --cpu-prof); never set by the plugin, not part of its config.
   */
  execArgv?: string[];
}

// Built code runs dist/workers/publisher.js; tests run the TypeScript source directly (Node 24
// strips the types), so the worker file takes the extension of this module.
export const WORKER_URL = new URL(`../workers/publisher${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A worker that ran this long before dying starts the backoff again from the minimum. */
const HEALTHY_RUN_MS = 30_000;
/**
 * How long a stopping worker may take past the drain deadline to spool what is left (and, right
 * after a start on a loaded machine, to finish loading) before it is terminated.
 */
const STOP_GRACE_MS = 5000;
/**
 * Events captured after a stop go to the stream or the spool this long after, unless a start comes
 * first: in a plugin reload OpenClaw starts the new registration a few seconds after the old stop.
 */
const LATE_FLUSH_MS = 5000;

export class WorkerSupervisor {
  connection: ConnectionState = "closed";
  server: string | undefined;
  stream: StreamInfoSummary | undefined;
  lastError: string | undefined;
  /** The watchdog's last replacement of a worker. */
  lastStall: { reason: string; at: number } | undefined;
  /** Latency and CPU of the workers that have exited (their last snapshots, merged: bounded however often they die). */
  pastLatency: LatencySnapshot | undefined;
  /** True while no worker is meant to run (before the first start, after a stop): captures then wait. */
  idle = true;

  private worker: Worker | undefined;
  /** Between start() and stop(). */
  private active = false;
  /** start() was called at least once: the spool dir and the worker file are known. */
  private started = false;
  /** From start() to the first connection or the first trouble (an error, an exit, a stall). */
  private firstConnect = false;
  /** A stop, or a flush of late events, in progress. */
  private draining: Promise<number> | undefined;
  private drained: (() => void) | undefined;
  private backoffMs = BACKOFF_MIN_MS;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private lateTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private stalledWorker: Worker | undefined;
  private nextRequest = 1;
  private readonly waiting = new Map<number, (s: LatencySnapshot | undefined) => void>();
  private lastSnapshot: LatencySnapshot | undefined;
  private spoolDir = "";
  private workerUrl = WORKER_URL;
  private execArgv: string[] | undefined;
  private missingFileLogged = "";

  private readonly views: RingViews;
  private readonly config: EventStoreConfig;
  private logger: PluginLogger;
  private readonly watchdog: ProgressWatchdog;
  private readonly drops: DropReporter;
  /** The credentials of the config (natsUrl, password, token), masked in every text that comes from the worker. */
  private readonly secrets: string[];

  constructor(views: RingViews, config: EventStoreConfig, logger: PluginLogger) {
    this.views = views;
    this.config = config;
    this.logger = logger;
    this.watchdog = new ProgressWatchdog(views, stallBoundMs(config.publishTimeoutMs));
    this.drops = new DropReporter(views);
    this.secrets = configSecrets(config);
    watchAtExit(this);
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

  /** The state status reports (status.ts explains each). */
  get state(): PipelineState {
    if (!this.active) return this.draining ? "stopping" : this.started ? "stopped" : "not started";
    if (this.connection === "connected") return "running";
    return this.firstConnect ? "starting" : "degraded";
  }

  /** Takes the worker file and the logger of the registration that now runs the plugin. */
  adopt(host: WorkerHost): void {
    if (host.workerUrl) this.workerUrl = host.workerUrl;
    if (host.logger) this.logger = host.logger;
    if (host.execArgv) this.execArgv = host.execArgv;
  }

  /** Starts the worker (once); `spoolDir` is where it may spool events ("" for no spool). */
  start(spoolDir = "", host: WorkerHost = {}): void {
    this.adopt(host);
    this.spoolDir = spoolDir;
    this.started = true;
    if (!this.active) this.firstConnect = true;
    this.active = true;
    this.idle = false;
    clearTimeout(this.lateTimer);
    this.lateTimer = undefined;
    if (this.draining) {
      // A flush of late events still runs: one worker per ring, so the new one comes after it.
      void this.draining.then(() => this.active && !this.worker && !this.restartTimer && this.launch());
      return;
    }
    if (this.worker) return;
    // A new start may bring a worker file that exists again (the reason of a crash loop): try now.
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.backoffMs = BACKOFF_MIN_MS;
    this.launch();
  }

  /** Spawns a worker, or retries after the backoff when its file is missing. */
  private launch(): void {
    this.restartTimer = undefined;
    if (this.spawn()) return;
    this.restartTimer = setTimeout(() => this.launch(), this.nextBackoff(false));
    this.restartTimer.unref();
  }

  private spawn(): Worker | undefined {
    const url = this.workerUrl;
    if (!existsSync(fileURLToPath(url))) {
      this.firstConnect = false;
      if (this.missingFileLogged !== url.href) {
        this.missingFileLogged = url.href;
        this.logger.error(
          `[nats-eventstore] the publisher worker file ${fileURLToPath(url)} is gone (the plugin's files were ` +
            "replaced or removed); events wait in the ring until the plugin starts again",
        );
      }
      return undefined;
    }
    this.startedAt = Date.now();
    this.views.counters[Counter.workerStarts]++;
    const w = new Worker(url, {
      name: "nats-eventstore-publisher",
      workerData: { sab: this.views.sab, config: this.config, spoolDir: this.spoolDir } satisfies WorkerData,
      ...(this.execArgv ? { execArgv: this.execArgv } : {}),
    });
    w.unref();
    this.worker = w;
    // Messages of a worker that was replaced (or is being replaced) no longer describe the pipeline.
    w.on("message", (m: WorkerMessage) => w === this.worker && w !== this.stalledWorker && this.onMessage(m));
    w.on("error", (e) => {
      this.lastError = this.safe(e instanceof Error ? e.message : String(e));
      this.logger.error(`[nats-eventstore] publisher worker failed: ${this.lastError}`);
    });
    w.on("exit", (code) => this.onExit(w, code));
    if (this.active) this.startWatchdog();
    return w;
  }

  /** The next restart delay; `afterRun` when a worker ran (a long healthy run starts the backoff again). */
  private nextBackoff(afterRun = true): number {
    if (afterRun && Date.now() - this.startedAt > HEALTHY_RUN_MS) this.backoffMs = BACKOFF_MIN_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    return delay;
  }

  private onExit(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.stopWatchdog();
    if (this.lastSnapshot)
      this.pastLatency = this.pastLatency ? mergeSnapshots(this.pastLatency, this.lastSnapshot) : this.lastSnapshot;
    this.lastSnapshot = undefined;
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
    const stalled = this.stalledWorker === w;
    this.stalledWorker = undefined;
    if (!this.active) {
      this.connection = "closed";
      this.drained?.();
      return;
    }
    const delay = this.nextBackoff();
    this.firstConnect = false;
    if (!stalled) {
      this.connection = "closed";
      this.views.counters[Counter.workerCrashes]++;
      this.logger.warn(
        `[nats-eventstore] publisher worker exited (code ${code}); restarting in ${delay} ms, ` +
          "unacked events stay queued",
      );
    }
    this.restartTimer = setTimeout(() => this.launch(), delay);
    this.restartTimer.unref();
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    this.watchdog.reset(sharedClockMs());
    const every = Math.min(1000, Math.max(50, this.watchdog.boundMs >>> 3));
    this.watchdogTimer = setInterval(() => this.checkProgress(), every);
    this.watchdogTimer.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  private checkProgress(): void {
    const dropped = this.drops.check(Date.now());
    if (dropped !== undefined) this.logger.warn(`[nats-eventstore] ${dropped}`);
    const w = this.worker;
    if (!w || !this.active || this.stalledWorker === w) return;
    const reason = this.watchdog.check(sharedClockMs(), this.connection === "connected");
    if (reason === undefined) return;
    // Replaced, not repaired: the successor resumes at the release cursor, so nothing is lost.
    this.views.counters[Counter.workerStalls]++;
    this.stalledWorker = w;
    this.connection = "stalled";
    this.firstConnect = false;
    this.lastStall = { reason, at: Date.now() };
    this.lastError = `publisher worker stalled: ${reason}`;
    this.logger.warn(
      `[nats-eventstore] publisher worker stalled: ${reason} (limit ${this.watchdog.boundMs} ms, from ` +
        "publishTimeoutMs); replacing it, its events wait in the ring",
    );
    this.stopWatchdog();
    void w.terminate();
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
        if (m.error || m.state === "connected") this.firstConnect = false;
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
        this.drained?.();
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
   * Asks the worker to publish what is queued until `timeoutMs`, spool what is not acked by then
   * and close its connection; when no worker runs (restart backoff, crash), one is started for
   * that alone. Resolves to the bytes still in the ring afterwards (0 unless the spool is off,
   * full or failing), which are logged with their count.
   */
  async stop(timeoutMs: number): Promise<number> {
    this.active = false;
    this.idle = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.lateTimer);
    this.restartTimer = this.lateTimer = undefined;
    this.stopWatchdog();
    while (this.draining) await this.draining;
    return this.drain(timeoutMs);
  }

  /**
   * A capture while no worker is meant to run. Before the first start the start takes the event;
   * after a stop, unless a start follows soon (a plugin reload), a worker moves it to the stream
   * or the spool. Cheap after the first call: it only arms a timer.
   */
  heldWhileIdle(): void {
    if (!this.started || this.lateTimer || this.draining || this.active) return;
    this.lateTimer = setTimeout(() => {
      this.lateTimer = undefined;
      if (!this.active && !this.draining) void this.drain(this.config.drainTimeoutMs);
    }, LATE_FLUSH_MS);
    this.lateTimer.unref();
  }

  private drain(timeoutMs: number): Promise<number> {
    const n = this.views.counters;
    const writtenBefore = n[Counter.written];
    const run = this.drainRing(timeoutMs).finally(() => {
      if (this.draining === run) this.draining = undefined;
      // Events captured while this ran may be behind what the worker took: they get a flush of their own.
      if (n[Counter.written] !== writtenBefore) this.heldWhileIdle();
    });
    this.draining = run;
    return run;
  }

  private async drainRing(timeoutMs: number): Promise<number> {
    const stalled = this.stalledWorker;
    if (stalled && this.worker === stalled) {
      // A blocked worker cannot take a stop message: end it, then take the stop path with a fresh one.
      await stalled.terminate();
      if (this.worker === stalled) this.worker = undefined;
    }
    // Only a pipeline that was started knows its spool and worker file; a never-started one just reports.
    const w = this.worker ?? (this.started && ringUsed(this.views) > 0 ? this.spawn() : undefined);
    if (w) {
      const done = new Promise<void>((resolve) => (this.drained = resolve));
      w.postMessage({ t: "stop", deadline: sharedClockMs() + timeoutMs } satisfies HostMessage);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs + STOP_GRACE_MS)));
      await Promise.race([done, grace]);
      clearTimeout(timer);
      this.drained = undefined;
      // Its 'exit' handler keeps its latency figures for status.
      if (this.worker === w) await w.terminate();
      if (this.worker === w) this.worker = undefined;
    }
    this.connection = "closed";
    const left = ringUsed(this.views);
    if (left > 0) {
      this.logger.warn(
        `[nats-eventstore] ${recordsInRing(this.views)} events (${left} bytes) could not be stored in JetStream or ` +
          "the spool; they wait in memory for the next start and are lost if the process exits first",
      );
    }
    return left;
  }

  /** Events still in the ring when the process exits (a stop could not save them, or there was no stop). */
  reportAtExit(): void {
    const left = ringUsed(this.views);
    if (left > 0) {
      const events = `${recordsInRing(this.views)} events (${left} bytes)`;
      this.logger.error(`[nats-eventstore] process exiting with ${events} neither acked nor spooled: lost`);
    }
  }
}

// One 'exit' listener per module, whatever the number of pipelines; weak, so retired rings are freed.
const supervisors = new Set<WeakRef<WorkerSupervisor>>();
let exitWatched = false;

function watchAtExit(s: WorkerSupervisor): void {
  if (!exitWatched) process.once("exit", reportAllAtExit);
  exitWatched = true;
  for (const ref of supervisors) if (ref.deref() === undefined) supervisors.delete(ref);
  supervisors.add(new WeakRef(s));
}

function reportAllAtExit(): void {
  for (const ref of supervisors) ref.deref()?.reportAtExit();
}

/** The secrets a config holds (natsUrl may be empty when a nats context gives the server). */
function configSecrets(c: EventStoreConfig): string[] {
  const fromUrl = c.natsUrl ? secretsOf(parseNatsUrl(c.natsUrl)) : [];
  return [...fromUrl, c.password, c.token].filter((x) => x !== "");
}
