// NATS itself fails under a steady stream of events: killed with SIGKILL and restarted on the
// same port and store, or not there yet when the plugin starts. The client drops its outbound
// buffer on every reconnect (nats.js clears it when the connection is re-established), so nothing may be
// lost only because the worker keeps every unacked record in the ring and re-publishes it with the
// same Nats-Msg-Id after the reconnect; JetStream's de-duplication makes that exactly once.
import { afterAll, describe, expect, it } from "vitest";
import { freePort, NatsServer } from "../helpers/nats-server.ts";
import { readStream, waitFor } from "../helpers/stream-reader.ts";
import { testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import type { CaptureResult } from "../../src/capture.ts";

const T = eventTypeIndex("tool.result");
const PAD = "r".repeat(200); // ~300-byte envelopes, as in the design's figures
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Captures `total` events at `perMs` events per millisecond of wall time, in slices driven by a
 * 10 ms timer (100 events per tick at 10k/s), as a busy gateway would. The count due is computed
 * from the clock, so a late timer catches up instead of slowing the rate down.
 */
class PacedCapture {
  seq = 0;
  readonly results = new Map<CaptureResult, number>();
  readonly done: Promise<void>;
  private timer: NodeJS.Timeout | undefined;

  constructor(p: EventPipeline, total: number, perMs: number) {
    const t0 = performance.now();
    this.done = new Promise((resolve) => {
      this.timer = setInterval(() => {
        const due = Math.min(total, Math.floor((performance.now() - t0) * perMs));
        for (; this.seq < due; this.seq++) {
          const r = p.capture(T, "main", "agent:main:restarts", { seq: this.seq, tool: "read", pad: PAD });
          this.results.set(r, (this.results.get(r) ?? 0) + 1);
        }
        if (this.seq >= total) {
          this.stop();
          resolve();
        }
      }, 10);
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Reads the stream back and checks that every sequence 0..total-1 is stored exactly once. */
async function expectExactlyOnce(url: string, stream: string, total: number): Promise<void> {
  const msgs = await readStream(url, stream);
  const seqs = new Uint8Array(total);
  const ids = new Set<string>();
  let duplicates = 0;
  let foreign = 0;
  for (const m of msgs) {
    const env = JSON.parse(Buffer.from(m.data).toString("utf8"));
    expect(m.msgId).toBe(env.id);
    ids.add(env.id);
    const s = env.payload.seq;
    if (!Number.isInteger(s) || s < 0 || s >= total) foreign++;
    else if (seqs[s]++ > 0) duplicates++;
  }
  const missing: number[] = [];
  for (let s = 0; s < total; s++) if (seqs[s] === 0) missing.push(s);
  expect({
    stored: msgs.length,
    duplicates,
    foreign,
    missing: missing.length,
    firstMissing: missing.slice(0, 10),
  }).toEqual({
    stored: total,
    duplicates: 0,
    foreign: 0,
    missing: 0,
    firstMissing: [],
  });
  expect(ids.size).toBe(total);
}

describe("NATS restarts under load", () => {
  const servers: NatsServer[] = [];
  const pipelines: EventPipeline[] = [];
  afterAll(async () => {
    for (const p of pipelines) await p.stop().catch(() => {});
    for (const s of servers) await s.dispose();
  });

  it("NATS SIGKILLed and restarted twice during an 8 s run at 10k events/s: every event stored exactly once", async () => {
    const server = await NatsServer.start();
    servers.push(server);
    const p = testPipeline(server.url, { streamName: "restarts", subjectPrefix: "rs" });
    pipelines.push(p);
    p.start();
    await waitFor(() => p.supervisor.connection === "connected", 15_000, "first connect");

    const TOTAL = 80_000; // 8 s at 10 events/ms
    const run = new PacedCapture(p, TOTAL, 10);
    // Two outages at random points of the run (logged so a failure can be replayed by hand).
    const plan = [0.2 + Math.random() * 0.15, 0.55 + Math.random() * 0.15].map((at) => ({
      at: Math.floor(at * TOTAL),
      downMs: 200 + Math.floor(Math.random() * 800),
    }));
    console.log(`SIGKILL plan: ${plan.map((k) => `after event ${k.at}, down ${k.downMs} ms`).join("; ")}`);
    try {
      for (const k of plan) {
        await waitFor(() => run.seq >= k.at, 30_000, `capture to reach event ${k.at}`);
        const ackedBefore = (await p.status()).counters.acked;
        await server.stop("SIGKILL");
        await sleep(k.downMs);
        await server.restart();
        // Publishing resumes by itself after each restart.
        await waitFor(
          async () => (await p.status()).counters.acked > ackedBefore + 1000,
          30_000,
          "acks after the restart",
        );
      }
      await run.done;
    } finally {
      run.stop();
    }
    await waitFor(async () => (await p.status()).counters.pending === 0, 60_000, "every captured event acked");
    const s = await p.status();
    console.log(`after 2 NATS kills: ${JSON.stringify(s.counters)}`);
    await p.stop();

    expect(run.results.get("ok")).toBe(TOTAL);
    expect(s.counters.captured).toBe(TOTAL);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    expect(s.counters.pending).toBe(0);
    expect(s.counters.dropped.total).toBe(0);
    expect(s.counters.acked).toBe(TOTAL);
    expect(s.counters.reconnects).toBeGreaterThanOrEqual(2);
    expect(s.counters.workerCrashes).toBe(0);
    await expectExactlyOnce(server.url, "restarts", TOTAL);
  }, 150_000);

  // lifecycle.test.ts covers a burst captured before NATS exists, checked by count. This one keeps
  // capturing through the moment NATS appears (the first connect, stream creation and the first
  // publishes race new captures) and checks every event by its sequence number.
  it("NATS down at start for a few seconds, then started: every event captured meanwhile arrives exactly once", async () => {
    const port = await freePort();
    const p = testPipeline(`nats://127.0.0.1:${port}`, {
      streamName: "latestart",
      subjectPrefix: "ls",
      connectTimeoutMs: 500,
    });
    pipelines.push(p);
    p.start();
    const TOTAL = 60_000; // 6 s at 10 events/ms; NATS appears after about half of them
    const run = new PacedCapture(p, TOTAL, 10);
    let server: NatsServer | undefined;
    try {
      await waitFor(() => run.seq >= 25_000, 30_000, "capture while NATS is down");
      const before = await p.status();
      expect(before.connection.state).toBe("connecting");
      expect(before.counters.acked).toBe(0);
      expect(before.counters.pending).toBe(before.counters.captured);
      server = await NatsServer.start({ port });
      servers.push(server);
      await run.done;
    } finally {
      run.stop();
    }
    await waitFor(async () => (await p.status()).counters.pending === 0, 60_000, "every captured event acked");
    const s = await p.status();
    await p.stop();
    expect(run.results.get("ok")).toBe(TOTAL);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    expect(s.counters.acked).toBe(TOTAL);
    expect(s.counters.dropped.total).toBe(0);
    expect(s.stream?.action).toBe("created");
    await expectExactlyOnce(server!.url, "latestart", TOTAL);
  }, 120_000);
});
