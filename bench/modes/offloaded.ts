// The plugin's way: EventPipeline.capture() on this (host) thread copies a compact record into
// the shared ring and returns; the publisher worker builds the envelope and publishes it to
// JetStream with pipelined inbox acks. Everything is read from the pipeline's shared counters
// (Counter.* from src/ring/layout.ts) and its worker's latency histogram.
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { EventPipeline } from "../../src/pipeline.ts";
import { resolveConfig, type EventStoreConfig, type PersistMode } from "../../src/config.ts";
import type { Encoding } from "../../src/record/format.ts";
import { Counter, ringUsed } from "../../src/ring/layout.ts";
import type { BenchEvent } from "../lib/events.ts";
import { difference, newHistogram, type Histogram } from "../lib/latency.ts";
import type { RunSpec } from "../lib/types.ts";
import { more, nextTurn, sleep, waitUntil, type BenchMode, type Limit, type ModeStats, type Prepared } from "./mode.ts";

/** Captures per event-loop turn at full speed. */
const FULL_BURST = 256;
/** Records allowed to wait in the ring behind the worker's in-flight window at full speed. */
const BACKLOG_SLACK = 1024;

type ConfigSpec = Pick<RunSpec, "url" | "stream" | "subjectPrefix" | "maxInFlight">;

/** The plugin's config for a run; `redact` false for offloaded-noredact, persistMode "async" for offloaded-async. */
export function offloadedConfig(
  spec: ConfigSpec,
  redact = true,
  persistMode: PersistMode = "default",
  encoding: Encoding = "json",
): EventStoreConfig {
  const { url: natsUrl, stream: streamName, subjectPrefix, maxInFlight } = spec;
  const r = resolveConfig({ natsUrl, streamName, subjectPrefix, maxInFlight, redact, persistMode, encoding });
  if (!r.ok) throw new Error(r.error);
  return r.config;
}

interface Baseline {
  captured: number;
  acked: number;
  failed: number;
  dropped: number;
  latency: string | undefined;
}

export class OffloadedMode implements BenchMode {
  readonly name: "offloaded" | "offloaded-noredact" | "offloaded-async";
  readonly notes: string[] = [];
  private readonly config: EventStoreConfig;
  private readonly p: EventPipeline;
  private readonly c: Float64Array;
  /** The producer never waits: a bench driver that outruns the worker backs off above this backlog. */
  private readonly backlogRecords: number;
  private readonly backlogBytes: number;
  private base: Baseline = { captured: 0, acked: 0, failed: 0, dropped: 0, latency: undefined };
  private hostMs = 0;
  private hostSpans = 0;
  private hostEvents = 0;
  private readonly errors: string[] = [];

  /** Node options of the worker thread (bench/profile-worker.ts: --cpu-prof); none in the bench. */
  private readonly workerExecArgv: string[] | undefined;

  /** `opts`: for bench/profile-worker.ts; the bench runs the defaults. */
  constructor(spec: RunSpec, opts: { workerExecArgv?: string[]; encoding?: Encoding } = {}) {
    this.workerExecArgv = opts.workerExecArgv;
    this.name = spec.mode === "offloaded-noredact" || spec.mode === "offloaded-async" ? spec.mode : "offloaded";
    const persistMode = this.name === "offloaded-async" ? "async" : "default";
    this.config = offloadedConfig(spec, this.name !== "offloaded-noredact", persistMode, opts.encoding);
    const logger = { info() {}, warn: (m: string) => this.errors.push(m), error: (m: string) => this.errors.push(m) };
    this.p = new EventPipeline(this.config, logger);
    this.c = this.p.views.counters;
    // Enough records waiting behind a full in-flight window that the worker never runs dry while
    // the driver sleeps (1-2 ms), few enough that queueing latency stays close to the ceiling's.
    this.backlogRecords = this.config.maxInFlight + BACKLOG_SLACK;
    this.backlogBytes = this.p.views.capacity >>> 1;
  }

  async open(): Promise<void> {
    // The orchestrator made a default stream, and NATS cannot change a stream's persist mode: the
    // plugin makes it anew, as it would for a user (async where the server has it).
    if (this.config.persistMode === "async") await deleteStream(this.config.natsUrl, this.config.streamName);
    this.p.start("", this.workerExecArgv ? { execArgv: this.workerExecArgv } : {});
    const ok = await waitUntil(() => this.p.supervisor.connection === "connected", 20_000);
    if (!ok)
      throw new Error(`offloaded pipeline did not connect: ${this.p.supervisor.lastError ?? this.errors.join("; ")}`);
    if (this.config.persistMode === "async") {
      await waitUntil(() => this.p.supervisor.stream !== undefined, 20_000);
      const got = this.p.supervisor.stream?.persistMode;
      if (got !== "async") this.notes.push(`stream persist mode ${got ?? "unknown"}, not async (see the warning)`);
    }
  }

  prepare(events: BenchEvent[]): Prepared {
    return { events };
  }

  private dropped(): number {
    const c = this.c;
    return c[Counter.droppedRingFull] + c[Counter.droppedTooLarge] + c[Counter.rejected] + c[Counter.undeliverable];
  }

  /** Records written and not yet acked, and ring bytes in use. */
  private backlogHigh(): boolean {
    const c = this.c;
    if (c[Counter.written] - c[Counter.acked] - c[Counter.undeliverable] > this.backlogRecords) return true;
    return ringUsed(this.p.views) > this.backlogBytes;
  }

  async closed(src: Prepared, callers: number | "full", limit: Limit): Promise<void> {
    const burst = callers === "full" ? FULL_BURST : callers;
    const events = src.events;
    const len = events.length;
    const p = this.p;
    let next = 0;
    while (more(next, limit)) {
      // Wait (do not spin) while the worker is behind: spinning would take the CPU it needs.
      while (this.backlogHigh()) await sleep(1);
      const end = Math.min(next + burst, limit.count);
      const first = next;
      const t0 = performance.now();
      for (; next < end; next++) {
        const e = events[next % len];
        p.capture(e.typeIndex, e.agent, e.session, e.payload);
      }
      this.hostMs += performance.now() - t0;
      this.hostSpans++;
      this.hostEvents += next - first;
      await nextTurn();
    }
  }

  fire(src: Prepared, i: number): void {
    const e = src.events[i % src.events.length];
    const t0 = performance.now();
    this.p.capture(e.typeIndex, e.agent, e.session, e.payload);
    this.hostMs += performance.now() - t0;
    this.hostSpans++;
    this.hostEvents++;
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const c = this.c;
    // Every record written to the ring ends acked (or undeliverable: over the server's max_payload).
    const ok = await waitUntil(() => c[Counter.acked] + c[Counter.undeliverable] >= c[Counter.written], timeoutMs);
    if (!ok)
      this.notes.push(
        `not settled: written ${c[Counter.written]}, acked ${c[Counter.acked]}, in flight ${c[Counter.inFlight]}`,
      );
    return ok;
  }

  async beginMeasure(): Promise<void> {
    const c = this.c;
    const snap = await this.p.supervisor.latency();
    this.base = {
      captured: c[Counter.captured],
      acked: c[Counter.acked],
      failed: c[Counter.failed],
      dropped: this.dropped(),
      latency: snap?.captureToAck,
    };
    this.hostMs = this.hostSpans = this.hostEvents = 0;
  }

  stats(): ModeStats {
    const c = this.c;
    const b = this.base;
    return {
      sent: c[Counter.captured] - b.captured,
      acked: c[Counter.acked] - b.acked,
      errors: c[Counter.failed] - b.failed,
      dropped: this.dropped() - b.dropped,
      hostMs: this.hostMs,
      hostSpans: this.hostSpans,
      hostEvents: this.hostEvents,
    };
  }

  async latency(): Promise<Histogram> {
    const snap = await this.p.supervisor.latency();
    return snap ? difference(snap.captureToAck, this.base.latency) : newHistogram();
  }

  /** CPU time the worker thread has used since it started (µs), measured in the worker. */
  async workerCpuUs(): Promise<number | undefined> {
    return (await this.p.supervisor.latency())?.cpuUs;
  }

  async close(): Promise<void> {
    const c = this.c;
    if (c[Counter.retried] > 0)
      this.notes.push(
        `worker re-published ${c[Counter.retried]} records (${c[Counter.duplicates]} acked as duplicates)`,
      );
    if (c[Counter.workerCrashes] > 0) this.notes.push(`worker crashed ${c[Counter.workerCrashes]} times`);
    for (const e of this.errors.slice(0, 3)) this.notes.push(e);
    await this.p.stop();
  }
}

async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url, noAsyncTraces: true, timeout: 10_000 });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}
