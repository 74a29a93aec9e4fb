// `node bench/fast-batch.ts [--events 200000] [--rounds 3] [--rate 10000] [--paced-events 30000]`
// publishMode "fast-batch" against "inbox" on the same server, in one run: the plugin's pipeline at
// sustained full speed (the driver keeps maxInFlight + 1024 records waiting, as `npm run bench`'s
// offloaded mode does), then at a fixed rate for latency. Per mode and round: events/s (first capture
// to last ack), the publisher worker thread's CPU per event, the nats-server's CPU per event, and
// capture->ack p50/p99 at the fixed rate. Modes alternate within each round, each on a fresh stream.
// The server is the current release (bench/lib/server.ts: NATS_SERVER_BIN / NATS_URL as for the
// bench); on a server without fast batches the fast-batch rows say "inbox (fallback)".
// Prints a table and writes bench/results/fast-batch.json. See bench/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EventPipeline } from "../src/pipeline.ts";
import { type PublishMode, resolveConfig } from "../src/config.ts";
import { Counter } from "../src/ring/layout.ts";
import { makeEvents, STANDARD_PAYLOAD_BYTES, type BenchEvent } from "./lib/events.ts";
import { difference, percentileMs } from "./lib/latency.ts";
import { median } from "./lib/median.ts";
import { NoServerBinary, startServer, type BenchServer } from "./lib/server.ts";
import { engineCommit, machine } from "./lib/system.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const MODES: PublishMode[] = ["inbox", "fast-batch"];
const MAX_IN_FLIGHT = 4096;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

interface Row {
  mode: PublishMode;
  /** The path the worker used (fast-batch falls back to inbox on older servers). */
  used: string;
  round: number;
  events: number;
  eventsPerSec: number;
  workerCpuUsPerEvent: number;
  serverCpuUsPerEvent: number | null;
  /** capture -> ack at the fixed rate, ms. */
  pacedP50: number;
  pacedP99: number;
  retried: number;
  failed: number;
}

async function waitUntil(f: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function runOne(
  server: BenchServer,
  mode: PublishMode,
  round: number,
  events: BenchEvent[],
  opts: { count: number; rate: number; paced: number },
): Promise<Row> {
  const stream = `bench_fb_${mode.replace("-", "")}_${round}`;
  const r = resolveConfig({
    natsUrl: server.url,
    streamName: stream,
    subjectPrefix: `benchfb.${mode.replace("-", "")}${round}`,
    maxInFlight: MAX_IN_FLIGHT,
    publishMode: mode,
  });
  if (!r.ok) throw new Error(r.error);
  const errors: string[] = [];
  const p = new EventPipeline(r.config, { info() {}, warn: (m) => errors.push(m), error: (m) => errors.push(m) });
  const c = p.views.counters;
  const settled = () => c[Counter.acked] + c[Counter.undeliverable] >= c[Counter.written];
  const capture = (i: number) => {
    const e = events[i % events.length];
    p.capture(e.typeIndex, e.agent, e.session, e.payload);
  };
  try {
    p.start();
    await waitUntil(async () => (await p.status()).stream?.publishMode !== undefined, 20_000, "the stream check");
    const used = (await p.status()).stream!;
    // Warm-up: JIT, the stream's first blocks, the first batches.
    for (let i = 0; i < 20_000; i++) {
      capture(i);
      if ((i & 255) === 255) await nextTurn();
    }
    await waitUntil(settled, 60_000, "the warm-up's acks");

    // Sustained: as fast as the worker takes them, never more than a full window plus 1024 waiting.
    const cpu0 = (await p.supervisor.latency())!.cpuUs;
    const srv0 = server.cpuMs();
    const acked0 = c[Counter.acked];
    const t0 = performance.now();
    for (let i = 0; i < opts.count; ) {
      while (c[Counter.written] - c[Counter.acked] > MAX_IN_FLIGHT + 1024) await sleep(1);
      for (const end = Math.min(opts.count, i + 256); i < end; i++) capture(i);
      await nextTurn();
    }
    await waitUntil(settled, 120_000, "the sustained run's acks");
    const wallMs = performance.now() - t0;
    const cpu1 = (await p.supervisor.latency())!.cpuUs;
    const srv1 = server.cpuMs();
    const done = c[Counter.acked] - acked0;

    // Fixed rate: `rate` events/s in 1 ms slices, capture -> ack latency from the worker's histogram.
    const before = (await p.supervisor.latency())!.captureToAck;
    const tp = performance.now();
    for (let i = 0; i < opts.paced; ) {
      const due = Math.min(opts.paced, Math.floor(((performance.now() - tp) * opts.rate) / 1000));
      for (; i < due; i++) capture(i);
      await sleep(1);
    }
    await waitUntil(settled, 60_000, "the paced run's acks");
    const h = difference((await p.supervisor.latency())!.captureToAck, before);
    return {
      mode,
      used: used.publishMode === mode ? mode : `${used.publishMode} (fallback)`,
      round,
      events: done,
      eventsPerSec: Math.round((done / wallMs) * 1000),
      workerCpuUsPerEvent: +((cpu1 - cpu0) / done).toFixed(2),
      serverCpuUsPerEvent:
        srv0 !== undefined && srv1 !== undefined ? +(((srv1 - srv0) * 1000) / done).toFixed(2) : null,
      pacedP50: +percentileMs(h, 50).toFixed(2),
      pacedP99: +percentileMs(h, 99).toFixed(2),
      retried: c[Counter.retried],
      failed: c[Counter.failed],
    };
  } finally {
    await p.stop();
    if (errors.length > 0) console.error(`${mode} round ${round}: ${errors.slice(0, 3).join("; ")}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: "string", default: "200000" },
      rounds: { type: "string", default: "3" },
      rate: { type: "string", default: "10000" },
      "paced-events": { type: "string", default: "30000" },
      "nats-server": { type: "string" },
    },
  });
  const opts = { count: Number(values.events), rate: Number(values.rate), paced: Number(values["paced-events"]) };
  const rounds = Number(values.rounds);
  let server: BenchServer;
  try {
    server = await startServer(process.env, values["nats-server"]);
  } catch (e) {
    if (e instanceof NoServerBinary) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const events = makeEvents({ count: 10_000, payloadBytes: STANDARD_PAYLOAD_BYTES, agents: 1, types: 1 });
  const rows: Row[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate which mode goes first: a busy neighbour then weighs on both alike.
      for (const mode of round % 2 ? [...MODES].reverse() : MODES) {
        const row = await runOne(server, mode, round, events, opts);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    await server.close();
  }
  const lines = [
    "| mode (path used) | events/s, median [range] | worker CPU µs/event | nats-server CPU µs/event | " +
      `p50 / p99 ms at ${opts.rate.toLocaleString("en-US")}/s |`,
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const mode of MODES) {
    const rs = rows.filter((r) => r.mode === mode);
    const rate = rs.map((r) => r.eventsPerSec);
    const srv = rs.map((r) => r.serverCpuUsPerEvent).filter((x): x is number => x !== null);
    lines.push(
      `| ${mode} (${rs[0].used}) | ` +
        `${median(rate).toLocaleString("en-US")} [${Math.min(...rate)}-${Math.max(...rate)}] | ` +
        `${median(rs.map((r) => r.workerCpuUsPerEvent)).toFixed(2)} | ${srv.length ? median(srv).toFixed(2) : "-"} | ` +
        `${median(rs.map((r) => r.pacedP50)).toFixed(2)} / ${median(rs.map((r) => r.pacedP99)).toFixed(2)} |`,
    );
  }
  console.log(
    `\n${lines.join("\n")}\n(medians of ${rounds} rounds, ${opts.count.toLocaleString("en-US")} events each)`,
  );
  const out = join(REPO, "bench", "results");
  mkdirSync(out, { recursive: true });
  const meta = { date: new Date().toISOString(), commit: engineCommit(), machine: machine(), server: server.bin, opts };
  writeFileSync(join(out, "fast-batch.json"), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
}

await main();
