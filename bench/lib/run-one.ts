// One (scenario, mode) run, in a child process of its own: a clean heap, its own JIT state, and
// RSS / CPU / event-loop figures that belong to this mode alone. The orchestrator (bench/run.ts)
// forks this file, sends a RunSpec and gets a RunResult back.
import type { BenchMode } from "../modes/mode.ts";
import { PUBLISHER_THREAD } from "./cpu.ts";
import { averageEnvelopeBytes, makeEvents, seqOf } from "./events.ts";
import { HostMonitor, timerOverheadMs } from "./host-monitor.ts";
import { encode, newHistogram, recordMs } from "./latency.ts";
import { intendedAt, runPaced, wallClockOffsetMs, type PacedPlan } from "./pacing.ts";
import { readBack } from "./read-back.ts";
import type { ChildMessage, ParentMessage, RunResult, RunSpec } from "./types.ts";

/** Loads only the mode that runs: a process measuring one mode carries no other's code. */
async function createMode(spec: RunSpec): Promise<BenchMode> {
  switch (spec.mode) {
    case "ceiling":
      return new (await import("../modes/ceiling.ts")).CeilingMode(spec);
    case "inline":
      return new (await import("../modes/inline.ts")).InlineMode(spec);
    case "offloaded":
    case "offloaded-noredact":
    case "offloaded-async":
      return new (await import("../modes/offloaded.ts")).OffloadedMode(spec);
    case "limit":
      throw new Error("the limit mode is the Go tool, run by the orchestrator (bench/modes/limit.ts)");
  }
}

export interface Progress {
  sent: number;
  acked: number;
  elapsedMs: number;
  phase: string;
}

/** Checks that every event 0..n-1 is in the stream exactly once (warm-up events have seq < 0). */
class SeqCheck {
  private readonly seen: Uint8Array;
  duplicates = 0;
  foreign = 0;
  constructor(n: number) {
    this.seen = new Uint8Array(n);
  }
  add(seq: number): boolean {
    if (!(seq >= 0 && seq < this.seen.length)) {
      if (!(seq < 0)) this.foreign++;
      return false;
    }
    if (this.seen[seq]) {
      this.duplicates++;
      return false;
    }
    this.seen[seq] = 1;
    return true;
  }
  missing(): number {
    let m = 0;
    for (let i = 0; i < this.seen.length; i++) if (!this.seen[i]) m++;
    return m;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

export async function runOne(
  spec: RunSpec,
  progress: (p: Progress) => void = () => {},
  mark: (at: "start" | "end") => Promise<void> = async () => {},
): Promise<RunResult> {
  const s = spec.scenario;
  const notes: string[] = [];
  const mode = await createMode(spec);
  let open = true;
  const closeMode = async () => {
    if (open) {
      open = false;
      await mode.close();
    }
  };
  await mode.open();
  try {
    const shape = { payloadBytes: s.payloadBytes, agents: s.agents, types: s.types, secrets: s.secrets };
    const warm = makeEvents({ count: s.warmup, ...shape, firstSeq: -s.warmup });
    const events = makeEvents({ count: s.events, ...shape });
    const envelopeBytes = averageEnvelopeBytes(events);
    const warmSrc = mode.prepare(warm);
    const src = mode.prepare(events);

    let phase = "warm-up";
    let t0 = performance.now();
    const ticker = setInterval(() => {
      const st = mode.stats();
      progress({ sent: st.sent, acked: st.acked, elapsedMs: performance.now() - t0, phase });
    }, 500);
    try {
      if (warm.length > 0) {
        await mode.closed(warmSrc, "full", { count: warm.length });
        if (!(await mode.settle(spec.settleTimeoutMs))) notes.push("warm-up did not settle");
      }
      await mode.beginMeasure();

      let fill: RunResult["fill"];
      if (s.load.kind === "read") {
        phase = "fill";
        t0 = performance.now();
        await mode.closed(src, "full", { count: events.length });
        if (!(await mode.settle(spec.settleTimeoutMs))) notes.push("fill did not settle");
        fill = { events: events.length, seconds: (performance.now() - t0) / 1000 };
        // The reader runs alone: no publisher (nor the offloaded worker) left in the process.
        await closeMode();
      }

      gc?.();
      const overheadMs = timerOverheadMs();
      const monitor = new HostMonitor(spec.mode.startsWith("offloaded") ? PUBLISHER_THREAD : undefined);
      const lag = newHistogram();
      const stored = newHistogram();
      // Paced runs: when each event was actually offered, to time it from there too (offered -> stored).
      const offered = s.load.kind === "paced" ? new Float64Array(events.length) : undefined;
      const fromOffer = newHistogram();
      const check = new SeqCheck(events.length);
      let plan: PacedPlan | undefined;
      let generatorBlockedMs = 0;
      let generatorCpuMs: number | null = null;
      // Paced runs: stored (the server's wall clock) minus intended (this process's performance.now()).
      const wallOffset = s.load.kind === "paced" ? wallClockOffsetMs() : performance.timeOrigin;
      let settled = true;
      let readBytes = 0;
      let readMessages = 0;
      let minStoredMinusIntended = Infinity;

      phase = s.load.kind === "read" ? "read" : "run";
      await mark("start");
      monitor.start();
      t0 = performance.now();
      switch (s.load.kind) {
        case "closed": {
          const limit = s.durationMs ? { count: Infinity, until: t0 + s.durationMs } : { count: events.length };
          await mode.closed(src, s.load.callers, limit);
          settled = await mode.settle(spec.settleTimeoutMs);
          break;
        }
        case "paced": {
          plan = { start: t0 + 1, rate: s.load.rate, burst: s.load.burst, count: events.length };
          const at = offered!;
          const fire = (i: number) => {
            at[i] = performance.now();
            mode.fire(src, i);
          };
          const paced = await runPaced(plan, fire, lag);
          generatorBlockedMs = paced.blockedMs;
          generatorCpuMs = paced.cpuMs;
          settled = await mode.settle(spec.settleTimeoutMs);
          break;
        }
        case "read": {
          const r = await readBack(spec.url, spec.stream, (m) => check.add(seqOf(m.data)));
          readBytes = r.bytes;
          readMessages = r.messages;
          break;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const host = monitor.stop(generatorBlockedMs, generatorCpuMs);
      clearInterval(ticker);
      await mark("end");
      if (!settled) notes.push(`not every event was acked within ${spec.settleTimeoutMs} ms of the last one offered`);

      const st = mode.stats();
      const own = await mode.latency();
      const hostNs = Math.max(0, (st.hostMs - st.hostSpans * overheadMs) * 1e6);

      // Paced runs: read the stream back and time each event from its intended time to the
      // moment JetStream stored it (the server's clock), for every mode alike.
      if (plan) {
        const p = plan;
        const origin = wallOffset;
        const r = await readBack(spec.url, spec.stream, (m) => {
          const seq = seqOf(m.data);
          if (!check.add(seq)) return;
          const d = m.storedMs - (origin + intendedAt(p, seq));
          if (d < minStoredMinusIntended) minStoredMinusIntended = d;
          recordMs(stored, d);
          if (offered) recordMs(fromOffer, m.storedMs - (origin + offered[seq]));
        });
        readMessages = r.messages;
        if (minStoredMinusIntended < -0.5)
          notes.push(
            `clock check: an event was stored ${(-minStoredMinusIntended).toFixed(2)} ms before its intended time`,
          );
      }

      const readBackFigures =
        plan || s.load.kind === "read"
          ? {
              messages: readMessages,
              missing: check.missing(),
              duplicates: check.duplicates + check.foreign,
              clockSkewMs:
                Number.isFinite(minStoredMinusIntended) && minStoredMinusIntended < 0 ? -minStoredMinusIntended : 0,
            }
          : undefined;

      const base: RunResult = {
        scenario: s.id,
        mode: spec.mode,
        sent: st.sent,
        acked: st.acked,
        errors: st.errors,
        dropped: st.dropped,
        seconds,
        envelopeBytes,
        hostNs,
        hostCalls: st.hostEvents,
        latency: "",
        latencyBasis: "capture->ack",
        host,
        notes: [...notes, ...mode.notes],
      };
      if (s.load.kind === "read") {
        return {
          ...base,
          seconds,
          latency: "",
          latencyBasis: "none",
          fill,
          readBack: readBackFigures,
          hostNs: 0,
          hostCalls: 0,
          notes: [...base.notes, `read ${readBytes} bytes`],
        };
      }
      if (plan) {
        return {
          ...base,
          latency: encode(stored),
          fromOffer: encode(fromOffer),
          latencyBasis: "intended->stored",
          ackLatency: encode(own),
          genLate: encode(lag),
          readBack: readBackFigures,
        };
      }
      return { ...base, latency: encode(own) };
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await closeMode();
  }
}

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
}

async function serve(m: ParentMessage): Promise<void> {
  switch (m.t) {
    case "run": {
      const result = await runOne(
        m.spec,
        (p) => void send({ t: "progress", ...p }),
        (at) => send({ t: "mark", at }),
      );
      return send({ t: "result", result });
    }
    case "micro": {
      const { runMicro } = await import("./micro.ts");
      return send({ t: "micro", result: await runMicro(m.url, m.quick) });
    }
    case "exit":
      process.exit(0);
  }
}

if (import.meta.main && process.send) {
  // Requests come one at a time: the parent waits for each answer before sending the next.
  process.on("message", (m: ParentMessage) => {
    serve(m).catch(async (e: unknown) => {
      await send({ t: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      process.exit(1);
    });
  });
  process.on("disconnect", () => process.exit(0));
}
