// What a run costs the host process: event-loop delay (monitorEventLoopDelay), event-loop
// utilisation, peak RSS (sampled) and CPU time of the whole process (every thread in it).
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from "node:perf_hooks";
import { threadCpuMs } from "./cpu.ts";
import type { HostFigures } from "./types.ts";

const MB = 1024 * 1024;
/** Sampling period of the loop-delay monitor (ms). Finer than Node's default 10 ms: runs are short. */
const DELAY_RESOLUTION_MS = 5;
const RSS_SAMPLE_MS = 50;

export class HostMonitor {
  /** The thread whose CPU is reported apart (the plugin's publisher worker), by its name. */
  private readonly workerName: string | undefined;
  private workerCpu: number | undefined;
  private delay: ReturnType<typeof monitorEventLoopDelay> | undefined;
  private elu: EventLoopUtilization | undefined;
  private cpu: NodeJS.CpuUsage | undefined;
  private threadCpu: NodeJS.CpuUsage | undefined;
  private rssTimer: NodeJS.Timeout | undefined;
  private rssStart = 0;
  private startedAt = 0;
  private rssPeak = 0;

  constructor(workerName?: string) {
    this.workerName = workerName;
  }

  start(): void {
    this.delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.threadCpu = process.threadCpuUsage();
    this.workerCpu = this.workerName === undefined ? undefined : threadCpuMs(this.workerName);
    this.rssStart = this.rssPeak = process.memoryUsage.rss();
    this.rssTimer = setInterval(() => this.sampleRss(), RSS_SAMPLE_MS);
    this.startedAt = performance.now();
    this.rssTimer.unref();
  }

  private sampleRss(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.rssPeak) this.rssPeak = rss;
  }

  /**
   * `idleMs`: time the loop was blocked by the load generator's own waits, counted as idle in the
   * utilisation; `generatorCpuMs`: the CPU those waits cost this thread, reported apart from it.
   */
  stop(idleMs = 0, generatorCpuMs: number | null = null): HostFigures {
    if (!this.delay || !this.elu || !this.cpu) throw new Error("HostMonitor.stop() before start()");
    this.delay.disable();
    clearInterval(this.rssTimer);
    this.sampleRss();
    const elu = performance.eventLoopUtilization(this.elu);
    const cpu = process.cpuUsage(this.cpu);
    const thread = process.threadCpuUsage(this.threadCpu);
    const workerNow = this.workerName === undefined ? undefined : threadCpuMs(this.workerName);
    const worker = workerNow !== undefined && this.workerCpu !== undefined ? workerNow - this.workerCpu : null;
    const d = this.delay;
    // The histogram holds how late each sampling timer fired (ns), with the period included.
    const over = (ns: number) => Math.max(0, Math.round((ns / 1e6 - DELAY_RESOLUTION_MS) * 1000) / 1000);
    // No sample at all: the loop never reached its timers during the run, which is a delay of
    // (at least) the whole run, not none.
    const blocked = over((performance.now() - this.startedAt) * 1e6);
    return {
      loopDelayP99Ms: d.count > 0 ? over(d.percentile(99)) : blocked,
      loopDelayMaxMs: d.count > 0 ? over(d.max) : blocked,
      elu: Math.round(Math.max(0, (elu.active - idleMs) / (elu.active + elu.idle || 1)) * 1000) / 1000,
      rssStartMb: Math.round(this.rssStart / MB),
      rssPeakMb: Math.round(this.rssPeak / MB),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      hostThreadCpuMs: Math.round((thread.user + thread.system) / 1000 - (generatorCpuMs ?? 0)),
      generatorCpuMs: generatorCpuMs === null ? null : Math.round(generatorCpuMs * 10) / 10,
      workerThreadCpuMs: worker === null ? null : Math.round(worker * 10) / 10,
    };
  }
}

/** Event-loop delay p99 of an idle process over `ms` (the baseline the delay figures compare to). */
export async function idleLoopDelay(ms: number): Promise<{ p99Ms: number; maxMs: number }> {
  const m = new HostMonitor();
  m.start();
  await new Promise((r) => setTimeout(r, ms));
  const f = m.stop();
  return { p99Ms: f.loopDelayP99Ms, maxMs: f.loopDelayMaxMs };
}

/** What two performance.now() calls in a row cost (ms): subtracted from timed host calls. */
export function timerOverheadMs(): number {
  let best = Infinity;
  for (let round = 0; round < 20; round++) {
    const n = 2000;
    const t0 = performance.now();
    let x = 0;
    for (let i = 0; i < n; i++) x += performance.now();
    const per = (performance.now() - t0) / n;
    if (per < best && x > 0) best = per;
  }
  return best;
}
