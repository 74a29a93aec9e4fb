// The host thread's cost per event by payload size, next to a bare JSON.stringify of the same
// payload: what capture() adds to the one cost a host cannot avoid (encoding the object).
//
// Each row times EventPipeline.capture() (the call every hook makes: the bounded look, the
// encoding, the copy into the shared ring) and, in the same process, JSON.stringify alone (and,
// for msgpack, msgpackr's pack alone) over payloads built fresh for every repetition and never
// encoded before: a real host hands over new objects each time. CPU time of this thread (exact:
// lib/thread-cpu.ts) over a batch, divided by the batch; the variants alternate, and the ratio is
// the median over repetitions of capture / stringify of the same repetition. The ring is released
// between batches, as the worker does (no capture meets a full ring).
//
// Run: node --expose-gc bench/host-cost.ts [--quick] [--json] [--only=<part of a payload name>]
// `npm run bench` runs it in a child process of its own and keeps the table in latest.json.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/config.ts";
import type { Encoding } from "../src/record/format.ts";
import { payloadPackr } from "../src/record/payload.ts";
import { eventTypeIndex } from "../src/event-types.ts";
import { EventPipeline } from "../src/pipeline.ts";
import { Counter, CTL_I32_RELEASE, CTL_I32_WRITE } from "../src/ring/layout.ts";
import { makeEvents } from "./lib/events.ts";
import { median } from "./lib/median.ts";
import { threadCpuNs, THREAD_CPU_EXACT } from "./lib/thread-cpu.ts";
import { execToolEvent, readToolEvent, toolResultPayload } from "./lib/tool-results.ts";

export interface HostCostRow {
  /** The payload: a size of the bench's seed-shaped payload, or a tool result. */
  payload: string;
  encoding: Encoding;
  /** JSON size of one payload (bytes, UTF-8). */
  jsonBytes: number;
  /** Calls per timed batch, and batches (repetitions) per variant. */
  batch: number;
  reps: number;
  /** CPU ns per call: least and median over the repetitions. */
  captureNs: { least: number; median: number };
  stringifyNs: { least: number; median: number };
  /** msgpack rows: msgpackr's pack() alone (the same options as the plugin's). */
  packNs?: { least: number; median: number };
  /** Median over repetitions of capture / JSON.stringify (and capture / pack for msgpack). */
  ratio: number;
  ratioVsPack?: number;
  /** Captures that did not end as "ok" (would make the figure meaningless). */
  refused: number;
}

interface PayloadSet {
  name: string;
  /** Calls per timed batch (about 5-20 ms of CPU). */
  batch: number;
  /** `n` new payload objects, none of them encoded yet. */
  make: (n: number, rep: number) => unknown[];
}

const KB = 1024;
const sized = (name: string, bytes: number, batch: number): PayloadSet => ({
  name,
  batch,
  make: (n, rep) =>
    makeEvents({ count: n, payloadBytes: bytes, agents: 1, types: 1, firstSeq: rep * n }).map((e) => e.payload),
});
const tool = (name: string, event: (seq: number) => Record<string, unknown>, batch: number): PayloadSet => ({
  name,
  batch,
  make: (n, rep) => Array.from({ length: n }, (_, i) => toolResultPayload(event(rep * n + i))),
});

export const PAYLOAD_SETS: readonly PayloadSet[] = [
  sized("100 B", 100, 4000),
  sized("1 KB", KB, 2000),
  sized("10 KB", 10 * KB, 600),
  sized("50 KB", 50 * KB, 160),
  // just under the default maxPayloadBytes (256 KiB): the largest payload stored whole
  sized("256 KB", 256 * KB - 64, 40),
  tool("tool result: exec (vitest output)", execToolEvent, 600),
  tool("tool result: read (12 KB source)", readToolEvent, 600),
];

// The plugin's own MessagePack encoder settings.
const packr = payloadPackr();

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const stats = (xs: number[]) => ({ least: Math.round(Math.min(...xs)), median: Math.round(median(xs)) });

/**
 * The plugin's pipeline with its default ring (32 MiB) and maxPayloadBytes, the worker not started.
 * Every page of the ring is written once first: a gateway that has run for a while has touched all
 * of them, and the first pass over a fresh ring costs a page fault per 4 KiB (~25% of the figures
 * at 1 KB), which is not what an event costs.
 */
function pipelineFor(encoding: Encoding): EventPipeline {
  const r = resolveConfig({ encoding });
  if (!r.ok) throw new Error(r.error);
  const p = new EventPipeline(r.config, { info() {}, warn() {}, error() {} });
  p.views.bytes.fill(0);
  return p;
}

/** Measures every payload set in both encodings (in this process). */
export function measureHostCost(opts: { quick?: boolean; only?: (name: string) => boolean } = {}): HostCostRow[] {
  const reps = opts.quick ? 5 : 15;
  const type = eventTypeIndex("tool.result");
  const rows: HostCostRow[] = [];
  for (const encoding of ["json", "msgpack"] as const) {
    const p = pipelineFor(encoding);
    const v = p.views;
    const release = () => Atomics.store(v.ctl, CTL_I32_RELEASE, Atomics.load(v.ctl, CTL_I32_WRITE));
    for (const set of PAYLOAD_SETS) {
      if (opts.only && !opts.only(set.name)) continue;
      const batch = opts.quick ? Math.max(8, set.batch >> 1) : set.batch;
      const jsonBytes = Buffer.byteLength(JSON.stringify(set.make(1, 0)[0]));
      const capture: number[] = [];
      const stringify: number[] = [];
      const pack: number[] = [];
      const ratios: number[] = [];
      const ratiosVsPack: number[] = [];
      const writtenBefore = v.counters[Counter.written];
      let sink = 0;
      // one untimed round first: the code paths compile
      for (let rep = -1; rep < reps; rep++) {
        // Each variant gets payloads of its own, made before its clock starts; garbage from making
        // them is collected first so it does not land in the timed part.
        let xs = set.make(batch, rep + 1);
        gc();
        let t = threadCpuNs();
        for (let i = 0; i < batch; i++) p.capture(type, "main", "agent:main:main", xs[i]);
        const c = (threadCpuNs() - t) / batch;
        release();

        xs = set.make(batch, rep + 1);
        gc();
        t = threadCpuNs();
        for (let i = 0; i < batch; i++) sink += (JSON.stringify(xs[i]) as string).length;
        const s = (threadCpuNs() - t) / batch;

        let k = Number.NaN;
        if (encoding === "msgpack") {
          xs = set.make(batch, rep + 1);
          gc();
          t = threadCpuNs();
          for (let i = 0; i < batch; i++) sink += packr.pack(xs[i]).length;
          k = (threadCpuNs() - t) / batch;
        }
        if (rep < 0) continue;
        capture.push(c);
        stringify.push(s);
        ratios.push(c / s);
        if (encoding === "msgpack") {
          pack.push(k);
          ratiosVsPack.push(c / k);
        }
      }
      if (sink < 0) console.log(sink); // keeps the results alive
      const written = v.counters[Counter.written] - writtenBefore;
      rows.push({
        payload: set.name,
        encoding,
        jsonBytes,
        batch,
        reps,
        captureNs: stats(capture),
        stringifyNs: stats(stringify),
        ...(encoding === "msgpack" ? { packNs: stats(pack), ratioVsPack: round2(median(ratiosVsPack)) } : {}),
        ratio: round2(median(ratios)),
        refused: (reps + 1) * batch - written,
      });
    }
  }
  return rows;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Runs measureHostCost in a fresh process (its own heap and JIT state, gc exposed). */
export function hostCostInChild(quick: boolean, timeoutMs = 300_000): Promise<HostCostRow[]> {
  const entry = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = fork(entry, ["--ipc", ...(quick ? ["--quick"] : [])], {
      execArgv: ["--expose-gc", "--no-warnings"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    let rows: HostCostRow[] | undefined;
    child.on("message", (m) => void (rows = m as HostCostRow[]));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (rows) resolve(rows);
      else reject(new Error(`host-cost child exited (${signal ?? code}) without a result`));
    });
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The table for stdout (and the READMEs). */
export function hostCostTable(rows: HostCostRow[]): string[] {
  const head = [
    "payload",
    "enc",
    "JSON bytes",
    "capture ns (least/median)",
    "JSON.stringify ns",
    "x stringify",
    "pack ns",
    "x pack",
  ];
  const body = rows.map((r) => [
    r.payload,
    r.encoding,
    fmt(r.jsonBytes),
    `${fmt(r.captureNs.least)} / ${fmt(r.captureNs.median)}`,
    `${fmt(r.stringifyNs.least)} / ${fmt(r.stringifyNs.median)}`,
    r.ratio.toFixed(2),
    r.packNs ? `${fmt(r.packNs.least)} / ${fmt(r.packNs.median)}` : "",
    r.ratioVsPack === undefined ? "" : r.ratioVsPack.toFixed(2),
  ]);
  const cells = [head, head.map((h) => "-".repeat(h.length)), ...body];
  const widths = head.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const lines = cells.map((c) =>
    c
      .map((x, i) => (i < 2 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
      .join("  ")
      .trimEnd(),
  );
  const refused = rows.filter((r) => r.refused > 0);
  if (refused.length) lines.push(`refused captures: ${refused.map((r) => `${r.payload} ${r.encoding}`).join(", ")}`);
  return ["host CPU per event by payload size: capture() vs a bare encode of the same fresh payload", ...lines];
}

if (import.meta.main) {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log("usage: node --expose-gc bench/host-cost.ts [--quick] [--json] [--only=<part of a payload name>]");
    process.exit(0);
  }
  const quick = process.argv.includes("--quick");
  const onlyArg = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
  const rows = measureHostCost({ quick, only: onlyArg ? (n) => n.includes(onlyArg) : undefined });
  if (process.argv.includes("--ipc") && process.send) process.send(rows);
  else if (process.argv.includes("--json")) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log(`node ${process.version}${quick ? " --quick" : ""}${THREAD_CPU_EXACT ? "" : " (coarse CPU clock)"}`);
    for (const l of hostCostTable(rows)) console.log(l);
  }
}
