// The bench's own arithmetic and plumbing, without a server: the limit mode's reading of the Go tool's
// output, the ratios and the CPU split of a row, the CPU readings from /proc, and the load generator's
// pacing (every event offered, none before its intended time). No speed thresholds.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { parseBashTimes, processCpuMs, threadCpuMs } from "../../bench/lib/cpu.ts";
import { decode, encode, newHistogram, recordMs } from "../../bench/lib/latency.ts";
import { intendedAt, runPaced, wallClockOffsetMs, type PacedPlan } from "../../bench/lib/pacing.ts";
import { addRatios, failedRow, limitRow, toRow, type Row } from "../../bench/lib/results.ts";
import { medianOrNull, roundsLines, summarizeRounds, type RoundRow } from "../../bench/lib/rounds.ts";
import { summaryLines } from "../../bench/lib/summary.ts";
import type { RunResult } from "../../bench/lib/types.ts";
import { parseCsv, type LimitResult } from "../../bench/modes/limit.ts";

const linux = process.platform === "linux";

// What natscli v0.5.0 wrote with --csv: no newline at the end, its log lines appended after it.
const CSV =
  "#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs,MinLatencyMicroSecs,AvgLatencyMicroSecs," +
  "MaxLatencyMicroSecs,P50LatencyMicroSecs,P90LatencyMicroSecs,P99LatencyMicroSecs,P99.9LatencyMicroSecs,StdDevLatencyMicroSecs\n" +
  "B3OVQIavsO70wHxuq7IFhF,P0,400000,60000000,38543,11562940.595011,5.188991,4600.887000,12966.268260,76413.631000," +
  "10532.437000,20703.195000,61634.731000,76413.631000,16051.661956" +
  "17:02:03 Starting JetStream asynchronous publisher benchmark [batch=500, clients=1]";

describe("the limit mode's reading of the Go tool", () => {
  it("takes msgs/s and the duration from the CSV by column name", () => {
    expect(parseCsv(CSV)).toEqual({ msgsPerSec: 38543, seconds: 5.188991 });
  });

  it("refuses a CSV without its header or data line", () => {
    expect(() => parseCsv("")).toThrow(/no header/);
    expect(() => parseCsv(CSV.split("\n")[0])).toThrow(/no header/);
    expect(() => parseCsv("#RunID,ClientID,MsgsPerSec\nx,P0,fast")).toThrow(/no DurationSecs/);
  });

  it("reads the children's CPU from bash's times (second line), user + system", () => {
    expect(parseBashTimes("0m0.004s 0m0.004s\n0m1.313s 0m0.424s\n")).toBeCloseTo(1737, 6);
    expect(parseBashTimes("0m0.000s 0m0.000s\n2m3.500s 0m0.500s")).toBeCloseTo(124_000, 6);
    expect(parseBashTimes("0m0.004s 0m0.004s")).toBeUndefined();
    expect(parseBashTimes("garbage\nmore garbage")).toBeUndefined();
  });
});

function runResult(over: Partial<RunResult> = {}): RunResult {
  const h = newHistogram();
  for (let i = 1; i <= 100; i++) recordMs(h, i / 10);
  return {
    scenario: "sustained",
    mode: "offloaded",
    sent: 10_000,
    acked: 10_000,
    errors: 0,
    dropped: 0,
    seconds: 2,
    envelopeBytes: 300,
    hostNs: 10_000_000,
    hostCalls: 10_000,
    latency: encode(h),
    latencyBasis: "capture->ack",
    host: {
      loopDelayP99Ms: 1,
      loopDelayMaxMs: 2,
      elu: 0.1,
      rssStartMb: 100,
      rssPeakMb: 120,
      cpuMs: 200,
      hostThreadCpuMs: 30,
      generatorCpuMs: null,
      workerThreadCpuMs: 120,
    },
    notes: [],
    ...over,
  };
}

const limitResult = (over: Partial<LimitResult> = {}): LimitResult => ({
  scenario: "sustained",
  tool: "async",
  command: "nats bench js pub async bench.sustained.limit.main.tool_call --dedup",
  sent: 20_000,
  seconds: 1,
  eventsPerSec: 20_000,
  envelopeBytes: 300,
  toolCpuMs: 100,
  serverCpuMs: 150,
  extraStored: 1,
  notes: [],
  ...over,
});

describe("a row's CPU split and ratios", () => {
  it("splits the bench process's CPU per 1,000 events into host thread, worker thread and the rest", () => {
    const row = toRow(runResult(), 10_000, 80, 3);
    // 30 ms host, 120 ms worker, 200 - 150 = 50 ms other threads, 80 ms server, over 10,000 events.
    expect(row.cpuMsPer1k).toEqual({ host: 3, generator: null, worker: 12, otherThreads: 5, server: 8, tool: null });
    // (30 + 120 + 50 + 80) ms of CPU in 2 s of wall time.
    expect(row.cores).toBeCloseTo(0.14, 6);
    expect(row.verified).toBe(true);
  });

  it("keeps the paced generator's waits apart from the host thread's own CPU", () => {
    const host = { ...runResult().host, hostThreadCpuMs: 30, generatorCpuMs: 40, cpuMs: 240 };
    const row = toRow(runResult({ host }), 10_000, null, 3);
    // The host thread's 30 ms are already without the generator's 40 (HostMonitor.stop takes them off).
    expect(row.cpuMsPer1k).toMatchObject({ host: 3, generator: 4, worker: 12, otherThreads: 5 });
    expect(row.hostCpuNsPerEvent).toBe(3000);
  });

  it("has no worker part in modes without one, and no server part with NATS_URL", () => {
    const host = { ...runResult().host, workerThreadCpuMs: null };
    const row = toRow(runResult({ mode: "ceiling", host }), 10_000, null, 3);
    expect(row.cpuMsPer1k).toEqual({
      host: 3,
      generator: null,
      worker: null,
      otherThreads: 17,
      server: null,
      tool: null,
    });
  });

  it("reports the generator's own lateness and the latency from the moment of offering on paced rows", () => {
    const late = newHistogram();
    for (let i = 0; i < 99; i++) recordMs(late, 0.05);
    recordMs(late, 3);
    const offer = newHistogram();
    for (let i = 1; i <= 100; i++) recordMs(offer, i / 100);
    const row = toRow(runResult({ genLate: encode(late), fromOffer: encode(offer) }), 10_000, null, 3);
    expect(row.genLateP50Ms).toBeCloseTo(0.05, 2);
    expect(row.genLateP99Ms).toBeCloseTo(0.05, 2);
    expect(row.fromOfferP50Ms).toBeCloseTo(0.5, 2);
    expect(row.fromOfferP99Ms).toBeCloseTo(0.99, 2);
    const closed = toRow(runResult(), 10_000, null, 3);
    expect([closed.genLateP99Ms, closed.fromOfferP99Ms]).toEqual([undefined, undefined]);
    expect(decode(encode(late)).totalCount).toBe(100);
  });

  it("turns the Go tool's run into a row: its CPU and the server's, nothing host-side", () => {
    const row = limitRow(limitResult(), 20_000, 4);
    expect(row).toMatchObject({ mode: "limit", events: 20_000, eventsPerSec: 20_000, verified: true, p99Ms: null });
    expect(row.cpuMsPer1k).toEqual({
      host: null,
      generator: null,
      worker: null,
      otherThreads: null,
      server: 7.5,
      tool: 5,
    });
    expect(row.cores).toBeCloseTo(0.25, 6);
    expect(row.notes[0]).toContain("--dedup");
    const short = limitRow(limitResult(), 19_999, 4);
    expect(short.verified).toBe(false);
    expect(short.notes.join(" ")).toContain("19999 of the 20000");
  });

  it("divides every row of a scenario by its ceiling and by its limit", () => {
    const rows: Row[] = [
      limitRow(limitResult({ eventsPerSec: 40_000 }), 20_000, 1),
      { ...toRow(runResult({ mode: "ceiling", seconds: 0.5 }), 10_000, null, 1) },
      { ...toRow(runResult({ seconds: 0.4 }), 10_000, null, 1) },
    ];
    addRatios(rows);
    expect(rows.map((r) => [r.mode, r.vsCeiling, r.vsLimit])).toEqual([
      ["limit", 2, 1],
      ["ceiling", 1, 0.5],
      ["offloaded", 1.25, 0.63],
    ]);
    const noLimit = rows.slice(1);
    addRatios(noLimit);
    expect(noLimit.map((r) => r.vsLimit)).toEqual([null, null]);
  });
});

describe("the summary against the design targets", () => {
  const header = { idleLoopDelayP99Ms: 1 } as Parameters<typeof summaryLines>[0]["header"];
  const cost = (payload: string, ratio: number, encoding: "json" | "msgpack" = "json") => {
    const ns = { least: 1, median: 1 };
    return { payload, encoding, jsonBytes: 1, batch: 1, reps: 1, captureNs: ns, stringifyNs: ns, ratio, refused: 0 };
  };

  it("sets the worker's CPU per event against the bare publisher's thread, and the host cost against a stringify", () => {
    const host = { ...runResult().host, hostThreadCpuMs: 40, workerThreadCpuMs: null };
    const results = [
      toRow(runResult({ mode: "ceiling", host }), 10_000, null, 1),
      toRow(runResult(), 10_000, null, 1), // worker 120 ms over 10,000 events
    ];
    const hostCost = [
      cost("100 B", 2.75),
      cost("tool result: exec (vitest output)", 1.19),
      cost("1 KB", 0.3, "msgpack"),
    ];
    const lines = summaryLines({ header, micro: [], results, scenarios: [], hostCost });
    expect(lines).toContain(
      "  worker CPU per event, sustained: 12 µs, the bare publisher's thread 4 µs: 3.00 (target <= 1.00)",
    );
    expect(lines).toContain(
      "  host cost vs a bare JSON.stringify of the payload: 100 B 2.75x, tool result: exec 1.19x (target <= 1.2x)",
    );
    const bare = summaryLines({ header, micro: [], results: results.slice(1), scenarios: [] });
    expect(bare.some((l) => l.includes("worker CPU") || l.includes("host cost vs"))).toBe(false);
  });
});

describe("latency over several rounds", () => {
  const paced = (mode: "ceiling" | "offloaded", round: number, p99: number): RoundRow => {
    const h = newHistogram();
    for (let i = 0; i < 95; i++) recordMs(h, 0.2);
    for (let i = 0; i < 5; i++) recordMs(h, p99);
    const row = toRow(runResult({ scenario: "rate-10k", mode, latency: encode(h) }), 10_000, null, 3);
    return { ...row, latencyBasis: "intended->stored", round };
  };

  it("compares the offloaded p99 with the ceiling's of the same round, then takes the median", () => {
    const rows: RoundRow[] = [
      paced("ceiling", 1, 4),
      paced("offloaded", 1, 8),
      paced("offloaded", 2, 6),
      paced("ceiling", 2, 16),
      paced("ceiling", 3, 5),
      paced("offloaded", 3, 5.5),
      // closed-loop rows have no intended time: left out
      { ...toRow(runResult(), 10_000, null, 3), round: 1 },
    ];
    const s = summarizeRounds(rows, 3);
    expect(s.scenarios.map((x) => x.scenario)).toEqual(["rate-10k"]);
    const [x] = s.scenarios;
    const p99 = (mode: string) => x.modes[mode].p99Ms.map((v) => Math.round(v ?? -1));
    expect([p99("ceiling"), p99("offloaded")]).toEqual([
      [4, 16, 5],
      [8, 6, 6],
    ]);
    // per round: 8 - 4, 6 - 16, 5.5 - 5 (the histogram's precision rounds each a little)
    expect(x.offloadedMinusCeilingMs.map(Math.round)).toEqual([4, -10, 1]);
    expect(x.medianOffloadedMinusCeilingMs).toBeCloseTo(0.5, 1);
    expect(x.roundsWithin1Ms).toBe(2);
    expect(x.modes.ceiling.medianP99Ms).toBeCloseTo(5, 1);
    expect(roundsLines(s).join("\n")).toMatch(/within 1 ms in 2 of 3 rounds/);
  });

  it("leaves a round out of the comparison when either mode failed in it", () => {
    const failed: RoundRow = { ...failedRow("rate-10k", "offloaded", 50_000, "boom"), round: 2 };
    failed.latencyBasis = "intended->stored";
    const s = summarizeRounds([paced("ceiling", 1, 4), paced("offloaded", 1, 4.5), paced("ceiling", 2, 4), failed], 2);
    expect(s.scenarios[0].offloadedMinusCeilingMs).toHaveLength(1);
    expect(s.scenarios[0].modes.offloaded.p99Ms[1]).toBeNull();
    expect([medianOrNull([]), medianOrNull([3, 1, 2]), medianOrNull([4, 1, 2, 3])]).toEqual([null, 2, 2.5]);
  });
});

describe.runIf(linux)("CPU readings from /proc", () => {
  it("finds a named worker thread's CPU time, and nothing for a name no thread has", async () => {
    const w = new Worker(
      "const t = Date.now(); let x = 0; while (Date.now() - t < 60) x++; require('node:worker_threads').parentPort.postMessage(x);",
      { eval: true, name: "bench-cpu-probe" },
    );
    await new Promise((r) => w.once("message", r));
    const ms = threadCpuMs("bench-cpu-probe");
    await w.terminate();
    expect(ms).toBeGreaterThan(0);
    expect(threadCpuMs("no-such-thread")).toBeUndefined();
  });

  it("reads a process's CPU time, undefined for no process", () => {
    expect(processCpuMs(process.pid)).toBeGreaterThanOrEqual(0);
    expect(processCpuMs(undefined)).toBeUndefined();
    expect(processCpuMs(2 ** 30)).toBeUndefined();
  });
});

describe("the paced load generator", () => {
  it("offers every event once, in order, never before its intended time, and records each one's lateness", async () => {
    for (const burst of [1, 25]) {
      const plan: PacedPlan = { start: performance.now() + 5, rate: 5_000, burst, count: 300 };
      const offered: [number, number][] = [];
      const lag = newHistogram();
      const out = await runPaced(plan, (i) => offered.push([i, performance.now()]), lag);
      expect(offered.map(([i]) => i)).toEqual([...Array(plan.count).keys()]);
      for (const [i, at] of offered) expect(at, `event ${i}`).toBeGreaterThanOrEqual(intendedAt(plan, i));
      expect(lag.totalCount).toBe(plan.count);
      expect(out.blockedMs).toBeGreaterThanOrEqual(0);
      expect(out.cpuMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("maps performance.now() onto the wall clock (Date.now(), which truncates to whole ms)", () => {
    const offset = wallClockOffsetMs();
    const before = Date.now();
    const wall = performance.now() + offset;
    const after = Date.now();
    // The wall-clock time of that instant lies in [before, after + 1) (Date.now() truncates).
    expect(wall).toBeGreaterThan(before - 0.1);
    expect(wall).toBeLessThan(after + 1.1);
  });

  it("lets the event loop run between events (I/O, timers and the clients' flushes are not starved)", async () => {
    const plan: PacedPlan = { start: performance.now() + 2, rate: 2_000, burst: 1, count: 100 };
    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    let microtasks = 0;
    await runPaced(plan, () => queueMicrotask(() => microtasks++), newHistogram());
    clearInterval(ticker);
    expect(microtasks).toBe(plan.count);
    expect(turns).toBeGreaterThan(0);
  });
});
