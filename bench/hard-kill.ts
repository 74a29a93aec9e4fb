// How much does a hard kill of the host lose? (DESIGN §1.4: "Only a hard kill of the host loses
// what is in memory: measure and document how much that is.")
//
// The parent starts a private nats-server and, RUNS times, a child Node process that runs an
// EventPipeline at RATE events/s (each payload carries its sequence number), then SIGKILLs the
// child at a random moment, reads the stream back and compares what the child had captured with
// what JetStream stored. Lost events / RATE = milliseconds of events a hard kill costs.
//
// The child reports over its stdout pipe with fs.writeSync (synchronous: a line is in the kernel's
// pipe buffer, and survives the kill, before the child goes on). It captures in 10 ms ticks and
// writes, per tick, "intent <n>" before capturing up to event n and "captured <n> <acked>" after.
// So the true count captured at the kill lies between the last "captured" and the last "intent"
// line (at most one tick: 100 events at 10k/s with 10 ms ticks); the stream's highest stored
// sequence also bounds it from below. The tick shapes the traffic: 10 ms ticks are bursts of 100
// events with idle gaps (a kill usually lands in a gap, when everything is already on the wire);
// 1 ms ticks are closer to a steady stream.
//
//   node bench/hard-kill.ts [runs=5] [rate=10000] [tickMs=10]
import { spawn } from "node:child_process";
import { writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NatsServer, natsServerVersion } from "../test/helpers/nats-server.ts";
import { readStream, streamMessageCount } from "../test/helpers/stream-reader.ts";
import { median } from "./lib/median.ts";

const PAD = "k".repeat(200); // ~300-byte envelopes, as in the design's figures

// ---------------------------------------------------------------------------------------------
// Child: one EventPipeline, paced capture, progress on stdout, killed from outside.

async function child(url: string, stream: string, rate: number, tickMs: number): Promise<void> {
  const { EventPipeline } = await import("../src/pipeline.ts");
  const { resolveConfig } = await import("../src/config.ts");
  const { eventTypeIndex } = await import("../src/event-types.ts");
  const { Counter } = await import("../src/ring/layout.ts");
  const r = resolveConfig({ natsUrl: url, streamName: stream, subjectPrefix: stream });
  if (!r.ok) throw new Error(r.error);
  const quiet = { info() {}, warn() {}, error: (m: string) => process.stderr.write(`${m}\n`) };
  const p = new EventPipeline(r.config, quiet);
  p.start();
  while (p.supervisor.connection !== "connected") await new Promise((res) => setTimeout(res, 20));
  const type = eventTypeIndex("tool.result");
  const out = (s: string) => writeSync(1, `${s}\n`);
  out("ready");
  const perMs = rate / 1000;
  const t0 = performance.now();
  let seq = 0;
  setInterval(() => {
    const due = Math.floor((performance.now() - t0) * perMs);
    if (due <= seq) return;
    out(`intent ${due}`);
    for (; seq < due; seq++) p.capture(type, "main", "agent:main:hardkill", { seq, tool: "read", pad: PAD });
    out(`captured ${seq} ${p.views.counters[Counter.acked]}`);
  }, tickMs);
}

// ---------------------------------------------------------------------------------------------
// Parent.

interface RunResult {
  killAfterMs: number;
  capturedLow: number;
  capturedHigh: number;
  ackedSeen: number;
  stored: number;
  duplicates: number;
  maxSeq: number;
  /** Captured (lower bound) minus distinct events stored. */
  lost: number;
  /** The same with the upper bound of captured. */
  lostHigh: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOnce(server: NatsServer, stream: string, rate: number, tickMs: number): Promise<RunResult> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, [self, "--child", server.url, stream, String(rate), String(tickMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buf = "";
  let ready = false;
  let intent = 0;
  let captured = 0;
  let acked = 0;
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const [what, a, b] = buf.slice(0, nl).split(" ");
      buf = buf.slice(nl + 1);
      if (what === "ready") ready = true;
      else if (what === "intent") intent = Number(a);
      else if (what === "captured") {
        captured = Number(a);
        acked = Number(b);
      }
    }
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  try {
    const deadline = Date.now() + 20_000;
    while (!ready) {
      if (proc.exitCode !== null) throw new Error(`child exited (${proc.exitCode}) before it was ready`);
      if (Date.now() > deadline) throw new Error("child not ready within 20 s");
      await sleep(20);
    }
    const killAfterMs = 2000 + Math.floor(Math.random() * 3000);
    await sleep(killAfterMs);
    proc.kill("SIGKILL");
    await exited;
    // Let the pipe drain into our handler, and the server finish what was already on its socket.
    await sleep(100);
    let count = await streamMessageCount(server.url, stream);
    for (let stable = 0; stable < 3; ) {
      await sleep(200);
      const now = await streamMessageCount(server.url, stream);
      stable = now === count ? stable + 1 : 0;
      count = now;
    }
    const msgs = await readStream(server.url, stream);
    const seen = new Set<number>();
    let duplicates = 0;
    let maxSeq = -1;
    for (const m of msgs) {
      const s = JSON.parse(Buffer.from(m.data).toString("utf8")).payload.seq as number;
      if (seen.has(s)) duplicates++;
      seen.add(s);
      if (s > maxSeq) maxSeq = s;
    }
    const capturedLow = Math.max(captured, maxSeq + 1);
    const capturedHigh = Math.max(intent, capturedLow);
    return {
      killAfterMs,
      capturedLow,
      capturedHigh,
      ackedSeen: acked,
      stored: msgs.length,
      duplicates,
      maxSeq,
      lost: capturedLow - seen.size,
      lostHigh: capturedHigh - seen.size,
    };
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await exited;
    }
  }
}

async function parent(runs: number, rate: number, tickMs: number): Promise<void> {
  const server = await NatsServer.start();
  const perMs = rate / 1000;
  console.log(
    `hard kill of the host process: ${runs} runs at ${rate} events/s in ${tickMs} ms ticks, ` +
      `${natsServerVersion()}, Node ${process.version}`,
  );
  console.log("run  kill@ms  captured(low..high)  acked-seen  stored  dups  lost(low..high)  lost ms");
  const results: RunResult[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      const r = await runOnce(server, `hardkill${i}`, rate, tickMs);
      results.push(r);
      const captured = `${r.capturedLow}..${r.capturedHigh}`;
      const lostRange = `${r.lost}..${r.lostHigh}`;
      const lostMs = `${(r.lost / perMs).toFixed(1)}..${(r.lostHigh / perMs).toFixed(1)}`;
      console.log(
        [
          String(i).padStart(3),
          String(r.killAfterMs).padStart(7),
          captured.padStart(19),
          String(r.ackedSeen).padStart(10),
          String(r.stored).padStart(6),
          String(r.duplicates).padStart(4),
          lostRange.padStart(15),
          lostMs,
        ].join("  "),
      );
    }
  } finally {
    await server.dispose();
  }
  const lost = results.map((r) => r.lost);
  const lostHigh = results.map((r) => r.lostHigh);
  const fmt = (xs: number[]) => `min ${Math.min(...xs)}, median ${median(xs)}, max ${Math.max(...xs)}`;
  const fmtMs = (xs: number[]) =>
    `min ${(Math.min(...xs) / perMs).toFixed(1)}, median ${(median(xs) / perMs).toFixed(1)}, ` +
    `max ${(Math.max(...xs) / perMs).toFixed(1)}`;
  console.log(`lost events (captured lower bound - stored): ${fmt(lost)}`);
  console.log(`lost events (captured upper bound - stored): ${fmt(lostHigh)}`);
  console.log(`lost ms of events at ${rate}/s: ${fmtMs(lost)} (upper bound: ${fmtMs(lostHigh)})`);
  console.log(`duplicates stored: ${results.reduce((n, r) => n + r.duplicates, 0)}`);
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv[1], argv[2], Number(argv[3]), Number(argv[4]));
} else {
  await parent(Number(argv[0] ?? 5), Number(argv[1] ?? 10_000), Number(argv[2] ?? 10));
}
