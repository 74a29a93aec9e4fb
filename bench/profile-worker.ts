// Where the publisher worker's CPU goes under the sustained scenario, next to the bare publisher's.
// Against a private nats-server (bench/lib/server.ts: the current release unless NATS_URL or
// NATS_SERVER_BIN say otherwise), on a fresh stream per run, each run warmed up first:
//   1. ceiling    the bare InboxPublisher on this thread (bench/modes/ceiling.ts): its thread's CPU
//                 per acked event (process.threadCpuUsage(), which counts its driver too);
//   2. offloaded  the plugin's pipeline (bench/modes/offloaded.ts): the worker thread's CPU per acked
//                 event, measured in the worker (process.threadCpuUsage() there);
//   3. profiled   the same with the worker under the V8 CPU profiler (--cpu-prof): its CPU per event
//                 again (the profiler adds a little) and the functions with the most self time
//                 during the measured seconds only (samples outside them are left out).
// Run: node bench/profile-worker.ts [--seconds 5] [--top 30] [--payload 165] [--secrets]
//        [--no-redact] [--msgpack] [--interval 100] [--keep DIR]   (--keep: leave the .cpuprofile there,
//        for Chrome DevTools or speedscope)
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../src/config.ts";
import { makeEvents } from "./lib/events.ts";
import { startServer } from "./lib/server.ts";
import { StreamAdmin, streamNames } from "./lib/streams.ts";
import type { ModeName, RunSpec } from "./lib/types.ts";
import { CeilingMode } from "./modes/ceiling.ts";
import { type BenchMode, sleep } from "./modes/mode.ts";
import { OffloadedMode } from "./modes/offloaded.ts";
import { scenarios } from "./scenarios/catalog.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    top: { type: "string", default: "30" },
    payload: { type: "string" },
    secrets: { type: "boolean", default: false },
    "no-redact": { type: "boolean", default: false },
    msgpack: { type: "boolean", default: false },
    interval: { type: "string", default: "100" },
    keep: { type: "string" },
  },
});
const seconds = Number(args.seconds);
const top = Number(args.top);

const base = scenarios(false).find((s) => s.id === "sustained")!;
const scenario = {
  ...base,
  durationMs: seconds * 1000,
  payloadBytes: args.payload ? Number(args.payload) : base.payloadBytes,
  ...(args.secrets ? { secrets: true } : {}),
};
const shape = {
  payloadBytes: scenario.payloadBytes,
  agents: scenario.agents,
  types: scenario.types,
  secrets: scenario.secrets,
};
const WARMUP = 10_000;
const warm = makeEvents({ count: WARMUP, ...shape, firstSeq: -WARMUP });
const events = makeEvents({ count: scenario.events, ...shape });

interface Measured {
  events: number;
  cpuUs: number;
  seconds: number;
  /** The measured span on the monotonic clock the CPU profile uses (µs). */
  fromUs: number;
  toUs: number;
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Waits until the thread `cpu` measures is nearly idle (at most 10 s): a worker maps its whole ring
 * into memory in slices when it starts, which takes a second or more on a busy machine.
 */
async function quiet(cpu: () => Promise<number>): Promise<void> {
  const deadline = performance.now() + 10_000;
  let last = await cpu();
  while (performance.now() < deadline) {
    await sleep(250);
    const now = await cpu();
    if (now - last < 25_000) return;
    last = now;
  }
}

/** Warms `mode` up, then runs the sustained load for `seconds`; `cpu` reads the CPU time to charge. */
async function measure(mode: BenchMode, cpu: () => Promise<number>): Promise<Measured> {
  await mode.open();
  try {
    const warmSrc = mode.prepare(warm);
    const src = mode.prepare(events);
    await mode.closed(warmSrc, "full", { count: warm.length });
    if (!(await mode.settle(30_000))) throw new Error(`${mode.name}: the warm-up did not settle`);
    await quiet(cpu);
    await mode.beginMeasure();
    const cpu0 = await cpu();
    const fromUs = monoUs();
    const t0 = performance.now();
    await mode.closed(src, "full", { count: Number.POSITIVE_INFINITY, until: t0 + seconds * 1000 });
    if (!(await mode.settle(30_000))) throw new Error(`${mode.name}: the run did not settle`);
    const toUs = monoUs();
    const cpuUs = (await cpu()) - cpu0;
    const st = mode.stats();
    if (st.errors > 0 || st.dropped > 0) console.log(`  ${mode.name}: ${st.errors} errors, ${st.dropped} dropped`);
    return { events: st.acked, cpuUs, seconds: (performance.now() - t0) / 1000, fromUs, toUs };
  } finally {
    await mode.close();
  }
}

function line(name: string, m: Measured): string {
  const rate = Math.round(m.events / m.seconds).toLocaleString("en-US");
  return `  ${name.padEnd(28)} ${(m.cpuUs / m.events).toFixed(2).padStart(6)} µs/event   ${rate} events/s acked`;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) per function and per file over the samples taken in [fromUs, toUs]. */
function selfTimes(p: CpuProfile, fromUs: number, toUs: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const us = i + 1 < p.samples.length ? p.timeDeltas[i + 1] : 0;
    const f = byId.get(p.samples[i])!.callFrame;
    if (f.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const where = shortUrl(f.url);
    const key = `${f.functionName || "(anonymous)"}  ${where}${f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ""}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const group = where === "" ? f.functionName : where;
    file.set(group, (file.get(group) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, idle, fn: sorted(fn), file: sorted(file) };
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + "/node_modules/".length);
  const root = url.indexOf("/workers/") >= 0 ? url.indexOf("/workers/") : url.indexOf("/src/");
  return root >= 0 ? url.slice(root + 1) : url.replace(/^file:\/\//, "");
}

async function waitForFile(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(path)) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  await sleep(200); // written by the exiting worker: let it finish
  return true;
}

const server = await startServer();
const admin = await StreamAdmin.connect(server.url);
const dir = args.keep ?? mkdtempSync(join(tmpdir(), "profile-worker-"));
try {
  console.log(
    `node ${process.version}, nats-server ${admin.serverVersion}; sustained load for ${seconds} s per run, ` +
      `${scenario.payloadBytes}-byte payloads${scenario.secrets ? " with secrets" : ""}, ` +
      `redaction ${args["no-redact"] ? "off" : "on"}, ${args.msgpack ? "msgpack" : "json"}`,
  );
  let run = 0;
  const spec = async (mode: ModeName): Promise<RunSpec> => {
    const names = streamNames(`profile${run++}`, mode);
    await admin.fresh(names, server.url, DEFAULTS.maxInFlight);
    return {
      scenario,
      mode,
      url: server.url,
      ...names,
      maxInFlight: DEFAULTS.maxInFlight,
      inlineFullCallers: 256,
      settleTimeoutMs: 30_000,
    };
  };
  const offloadedMode = async (execArgv?: string[]) => {
    const mode = new OffloadedMode(await spec(args["no-redact"] ? "offloaded-noredact" : "offloaded"), {
      workerExecArgv: execArgv,
      encoding: args.msgpack ? "msgpack" : "json",
    });
    return { mode, cpu: async () => (await mode.workerCpuUs()) ?? Number.NaN };
  };
  const threadUs = async () => {
    const u = process.threadCpuUsage();
    return u.user + u.system;
  };

  console.log("CPU per acked event of the publishing thread:");
  const ceiling = await measure(new CeilingMode(await spec("ceiling")), threadUs);
  console.log(line("ceiling (bare publisher)", ceiling));
  const plain = await offloadedMode();
  const offloaded = await measure(plain.mode, plain.cpu);
  console.log(line("offloaded worker", offloaded));
  const name = "worker.cpuprofile";
  const profiled = await offloadedMode([
    "--cpu-prof",
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}`,
    `--cpu-prof-interval=${args.interval}`,
  ]);
  const p = await measure(profiled.mode, profiled.cpu);
  console.log(line("offloaded worker, profiled", p));
  console.log(
    `  offloaded / ceiling: ${(offloaded.cpuUs / offloaded.events / (ceiling.cpuUs / ceiling.events)).toFixed(2)}`,
  );

  const file = join(dir, name);
  if (!(await waitForFile(file, 15_000))) throw new Error(`no CPU profile was written to ${file}`);
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  if (prof.endTime < p.fromUs || prof.startTime > p.toUs)
    throw new Error("the profile's clock does not cover the measured span");
  const s = selfTimes(prof, p.fromUs, p.toUs);
  // The profiler samples wall-clock time: on a busy machine a thread that waits for a core is
  // sampled too. Shares of the samples, times the CPU the thread really used, give CPU per event.
  const cpuPerEvent = p.cpuUs / p.events;
  const perEvent = (us: number) => `${((cpuPerEvent * us) / s.total).toFixed(3).padStart(6)} µs/ev`;
  const pct = (us: number) => `${((100 * us) / s.total).toFixed(1).padStart(5)}%`;
  console.log(
    `\nworker profile over the measured ${p.seconds.toFixed(1)} s (${p.events.toLocaleString("en-US")} events): ` +
      `${(s.total / 1000).toFixed(0)} ms of samples busy, ${(s.idle / 1000).toFixed(0)} ms idle; ` +
      `µs/ev = share of the busy samples x ${cpuPerEvent.toFixed(2)} µs of worker CPU per event`,
  );
  console.log(`top ${top} functions by self time:`);
  for (const [k, us] of s.fn.slice(0, top)) console.log(`  ${pct(us)} ${perEvent(us)}  ${k}`);
  console.log("self time by file:");
  for (const [k, us] of s.file.slice(0, 15)) console.log(`  ${pct(us)} ${perEvent(us)}  ${k}`);
  if (args.keep) console.log(`\nprofile kept: ${file}`);
} finally {
  await admin.close();
  await server.close();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
