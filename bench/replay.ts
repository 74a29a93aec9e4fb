// `npm run bench:replay [-- --count 1000000] [-- --tail-seconds 15] [-- --quick]`
// The read side's speed. It fills a stream with pre-encoded ~300-byte envelopes (the plugin's own
// inbox-ack publisher, Nats-Msg-Id on each), then times the package bin replaying them:
//   - all events to NDJSON on stdout (read by this process from a pipe, every line counted),
//   - with a server-side filter (one event type), and with a client-side one (one session),
//   - the readable one-line format;
// and checks that `tail --json` keeps up while events are published at full speed (the same
// publisher: the rate the plugin sustains on this machine, see bench/README.md).
// Prints a table and writes bench/results/replay.json. See bench/README.md.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { InboxPublisher } from "../workers/inbox-publisher.ts";
import { makeEvents, seedEnvelope, seedSubject } from "./lib/events.ts";
import { NoServerBinary, startServer, type BenchServer } from "./lib/server.ts";
import { engineCommit, machine } from "./lib/system.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(REPO, "bin", "openclaw-nats-eventstore.js");
const STREAM = "bench_replay";
const PREFIX = "bench.replay";
const WINDOW = 8192;
const fmt = (x: number) => x.toLocaleString("en-US");

interface ReplayBenchOptions {
  count?: number;
  tailSeconds?: number;
  natsUrl?: string;
  outDir?: string;
  log?: (line: string) => void;
}

interface ReplayRow {
  name: string;
  events: number;
  wallMs: number;
  eventsPerSec: number;
  /** CPU of the replaying process and of nats-server, per event (µs); undefined when unknown. */
  clientUsPerEvent?: number;
  serverUsPerEvent?: number;
}

interface TailResult {
  published: number;
  publishSeconds: number;
  publishedPerSec: number;
  received: number;
  /** Most events published and not yet printed by the tail, sampled every 100 ms. */
  maxBacklog: number;
  /** From the last publish ack to the tail printing the last event. */
  catchUpMs: number;
}

interface ReplayReport {
  header: {
    date: string;
    commit: string;
    natsServer: string;
    machine: ReturnType<typeof machine>;
    loadAverage: number[];
  };
  fill: { events: number; eventsPerSec: number; envelopeBytes: number };
  replays: ReplayRow[];
  tail: TailResult;
}

function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Encoded {
  subjects: string[];
  bodies: Buffer[];
}

function encode(n: number): Encoded {
  const events = makeEvents({ count: n, payloadBytes: 165, agents: 8, types: 7 });
  return {
    subjects: events.map((e) => seedSubject(PREFIX, e)),
    bodies: events.map((e) => Buffer.from(JSON.stringify(seedEnvelope(e)))),
  };
}

/**
 * Publishes `count` envelopes (cycling `enc`) with unique Nats-Msg-Id headers, WINDOW in flight;
 * `until` stops it early. Resolves with how many were acked.
 */
function publishFast(
  nc: NatsConnection,
  enc: Encoded,
  count: number,
  idBase: string,
  until?: () => boolean,
  onAck?: () => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let inFlight = 0;
    let stopping = false;
    const pub = new InboxPublisher(nc, STREAM, (_token, kind) => {
      if (kind !== 0 && kind !== 1) reject(new Error("a publish was refused"));
      acked++;
      inFlight--;
      onAck?.();
      pump();
    });
    const pump = () => {
      if (!stopping && until?.()) stopping = true;
      while (!stopping && inFlight < WINDOW && sent < count) {
        const i = sent % enc.bodies.length;
        pub.publish(
          enc.subjects[i],
          Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${idBase}-${sent}\r\n\r\n`),
          enc.bodies[i],
          sent,
        );
        sent++;
        inFlight++;
      }
      if (inFlight === 0 && (stopping || sent === count)) resolve(acked);
    };
    pump();
  });
}

interface BinRun {
  lines: number;
  wallMs: number;
  cpuMs?: number;
  stderr: string;
  code: number | null;
}

/** Runs the bin, counting stdout lines; `onLine` sees the running count. */
function runBin(args: string[], onLines?: (n: number) => void, stop?: Promise<void>): Promise<BinRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let stderr = "";
    let cpu: number | undefined;
    const sampler = setInterval(() => (cpu = procCpuMs(child.pid) ?? cpu), 100);
    child.stdout.on("data", (d: Buffer) => {
      for (let k = d.indexOf(10); k >= 0; k = d.indexOf(10, k + 1)) lines++;
      onLines?.(lines);
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    void stop?.then(() => child.kill("SIGINT"));
    child.on("close", (code) => {
      clearInterval(sampler);
      resolve({ lines, wallMs: performance.now() - t0, cpuMs: cpu, stderr, code });
    });
  });
}

export async function runReplayBench(opts: ReplayBenchOptions = {}): Promise<ReplayReport> {
  const count = opts.count ?? 1_000_000;
  const tailSeconds = opts.tailSeconds ?? 15;
  const log = opts.log ?? ((l: string) => console.log(l));
  const server: BenchServer = await startServer(opts.natsUrl ? { NATS_URL: opts.natsUrl } : process.env);
  const nc = await connect({ servers: server.url, noAsyncTraces: true, timeout: 10_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 30_000 });
    await jsm.streams.delete(STREAM).catch(() => false);
    await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`], duplicate_window: 120e9 });
    const enc = encode(10_000);
    const envelopeBytes = Math.round(enc.bodies.reduce((s, b) => s + b.length, 0) / enc.bodies.length);
    const conn = ["--server", server.url, "--stream", STREAM, "--prefix", PREFIX];

    log(`filling ${STREAM} with ${count.toLocaleString("en-US")} envelopes of ~${envelopeBytes} bytes ...`);
    const f0 = performance.now();
    const filled = await publishFast(nc, enc, count, "fill");
    const fillPerSec = Math.round(filled / ((performance.now() - f0) / 1000));
    const stored = (await jsm.streams.info(STREAM)).state.messages;
    if (stored !== count) throw new Error(`the stream holds ${stored} messages, not ${count}`);
    log(`filled: ${fillPerSec.toLocaleString("en-US")} events/s`);

    const replays: ReplayRow[] = [];
    const timed = async (name: string, args: string[], expected: number) => {
      const s0 = server.cpuMs();
      const r = await runBin(["replay", "--no-progress", ...args, ...conn]);
      const s1 = server.cpuMs();
      if (r.code !== 0 || r.lines !== expected) {
        throw new Error(`${name}: exit ${r.code}, ${r.lines} lines, expected ${expected}\n${r.stderr.slice(0, 2000)}`);
      }
      const row: ReplayRow = {
        name,
        events: r.lines,
        wallMs: Math.round(r.wallMs),
        eventsPerSec: Math.round(r.lines / (r.wallMs / 1000)),
        clientUsPerEvent: r.cpuMs !== undefined ? +((r.cpuMs * 1000) / r.lines).toFixed(2) : undefined,
        serverUsPerEvent: s0 !== undefined && s1 !== undefined ? +(((s1 - s0) * 1000) / r.lines).toFixed(2) : undefined,
      };
      replays.push(row);
      log(`${name}: ${fmt(row.eventsPerSec)} events/s (${fmt(row.events)} in ${row.wallMs} ms)`);
    };
    await timed("replay --json (all)", ["--json"], count);
    await timed(
      "replay --json --type tool.call (server filter)",
      ["--json", "--type", "tool.call"],
      countType(count, 0),
    );
    await timed(
      "replay --json --session agent:main:main (client filter)",
      ["--json", "--session", "agent:main:main"],
      countAgent(count, 0),
    );
    const textCount = Math.min(count, 200_000);
    await timed("replay readable lines (--limit 200k)", ["--limit", String(textCount)], textCount);

    log(`tail --json while publishing at full speed for ${tailSeconds} s ...`);
    const tail = await tailWhilePublishing(nc, jsm, enc, tailSeconds, conn);
    log(
      `tail: ${tail.received.toLocaleString("en-US")} of ${tail.published.toLocaleString("en-US")} published ` +
        `(${fmt(tail.publishedPerSec)}/s), max backlog ${fmt(tail.maxBacklog)} events, ` +
        `caught up ${tail.catchUpMs} ms after the last ack`,
    );
    const report: ReplayReport = {
      header: {
        date: new Date().toISOString(),
        commit: engineCommit(),
        natsServer: nc.info?.version ?? "unknown",
        machine: machine(),
        loadAverage: (await import("node:os")).loadavg().map((x) => +x.toFixed(2)),
      },
      fill: { events: count, eventsPerSec: fillPerSec, envelopeBytes },
      replays,
      tail,
    };
    const outDir = opts.outDir ?? join(REPO, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "replay.json"), `${JSON.stringify(report, null, 2)}\n`);
    for (const l of table(report)) log(l);
    await jsm.streams.delete(STREAM).catch(() => false);
    return report;
  } finally {
    await nc.close();
    await server.close();
  }
}

/** Events of type index `t` among the first n (makeEvents: 8 agents, then the next type). */
function countType(n: number, t: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (Math.floor((i % 10_000) / 8) % 7 === t) c++;
  return c;
}

function countAgent(n: number, a: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if ((i % 10_000) % 8 === a) c++;
  return c;
}

async function tailWhilePublishing(
  nc: NatsConnection,
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  enc: Encoded,
  seconds: number,
  conn: string[],
): Promise<TailResult> {
  let received = 0;
  let acked = 0;
  let maxBacklog = 0;
  let lastAckAt = 0;
  let caughtUpAt = 0;
  let published = -1;
  let stopTail!: () => void;
  const stop = new Promise<void>((r) => (stopTail = r));
  const consumersBefore = (await jsm.streams.info(STREAM)).state.consumer_count;
  const tail = runBin(
    ["tail", "--json", ...conn],
    (n) => {
      received = n;
      if (published >= 0 && received >= published && caughtUpAt === 0) {
        caughtUpAt = performance.now();
        stopTail();
      }
    },
    stop,
  );
  let exited = false;
  void tail.then(() => (exited = true));
  while ((await jsm.streams.info(STREAM)).state.consumer_count === consumersBefore) {
    if (exited) throw new Error(`tail exited before it started: ${(await tail).stderr.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const sampler = setInterval(() => (maxBacklog = Math.max(maxBacklog, acked - received)), 100);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  published = -1;
  const n = await publishFast(
    nc,
    enc,
    Number.MAX_SAFE_INTEGER,
    "tail",
    () => performance.now() >= end,
    () => {
      acked++;
      lastAckAt = performance.now();
    },
  );
  const publishSeconds = (lastAckAt - t0) / 1000;
  published = n;
  if (received >= published) {
    caughtUpAt = performance.now();
    stopTail();
  }
  const timeout = setTimeout(stopTail, 60_000);
  const r = await tail;
  clearTimeout(timeout);
  clearInterval(sampler);
  return {
    published: n,
    publishSeconds: +publishSeconds.toFixed(1),
    publishedPerSec: Math.round(n / publishSeconds),
    received: r.lines,
    maxBacklog,
    catchUpMs: caughtUpAt ? Math.round(caughtUpAt - lastAckAt) : -1,
  };
}

function table(r: ReplayReport): string[] {
  const h = r.header;
  const n = (x: number | undefined) => (x === undefined ? "-" : x.toLocaleString("en-US"));
  const lines = [
    "",
    `replay bench ${h.date}, commit ${h.commit}, nats-server ${h.natsServer}, ${h.machine.cpu} x${h.machine.cores}, ` +
      `node ${h.machine.node}, load average ${h.loadAverage.join(" ")}`,
    `fill: ${n(r.fill.events)} envelopes of ~${r.fill.envelopeBytes} bytes at ${n(r.fill.eventsPerSec)} events/s`,
    "",
    "| replay | events | wall ms | events/s | client µs/event | nats-server µs/event |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...r.replays.map(
      (x) =>
        `| ${x.name} | ${n(x.events)} | ${n(x.wallMs)} | ${n(x.eventsPerSec)} | ` +
        `${x.clientUsPerEvent ?? "-"} | ${x.serverUsPerEvent ?? "-"} |`,
    ),
    "",
    `tail --json during ${r.tail.publishSeconds} s of full-speed publishing: ${n(r.tail.published)} published ` +
      `(${n(r.tail.publishedPerSec)}/s), ${n(r.tail.received)} printed, max backlog ${n(r.tail.maxBacklog)}, ` +
      `caught up ${r.tail.catchUpMs} ms after the last ack`,
  ];
  return lines;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes("--quick");
  try {
    const r = await runReplayBench({
      count: Number(arg("count") ?? (quick ? 50_000 : 1_000_000)),
      tailSeconds: Number(arg("tail-seconds") ?? (quick ? 3 : 15)),
    });
    if (r.tail.received !== r.tail.published) process.exitCode = 1;
  } catch (e) {
    console.error(e instanceof NoServerBinary ? e.message : e);
    process.exitCode = 1;
  }
}
