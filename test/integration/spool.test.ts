import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, NatsServer } from "../helpers/nats-server.ts";
import { expectEachEventOnce, readStream, waitFor } from "../helpers/stream-reader.ts";
import { killWorker, MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import { Counter } from "../../src/ring/layout.ts";

const T = eventTypeIndex("tool.result");
const PAD = "p".repeat(200);

/** The worker is running (trying to connect): a gateway starts it long before a burst. */
const workerUp = (p: EventPipeline) => waitFor(() => p.supervisor.connection === "connecting", 10_000, "worker start");

async function counters(p: EventPipeline) {
  return (await p.status()).counters;
}

describe("disk spool", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "spool-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an outage that overflows the ring: events go to disk, nothing is dropped, all arrive exactly once", async () => {
    const port = await freePort();
    // 1 MiB ring: ~3,000 events of ~330 bytes. 12,000 events during the outage overflow it 4 times.
    const p = testPipeline(`nats://127.0.0.1:${port}`, {
      ringBytes: 1 << 20,
      maxPayloadBytes: 4096,
      streamName: "spooled",
      subjectPrefix: "sp",
    });
    p.start(join(dir, "a"));
    await workerUp(p);
    const N = 12_000;
    // Warm the capture path up (JIT) on a pipeline of its own, so the figures below compare like with like.
    const warm = testPipeline(`nats://127.0.0.1:${port}`);
    for (let i = 0; i < 20_000; i++) warm.capture(T, "main", "agent:main:main", { i, PAD });
    // Host cost per event of each batch of 100, split by whether the spool had been used yet:
    // the figure for "the host's capture cost stays flat during the outage".
    const before: number[] = [];
    const during: number[] = [];
    let notOk = 0;
    for (let i = 0; i < N; ) {
      const spooling = p.views.counters[Counter.spooled] > 0;
      const t0 = performance.now();
      for (const end = i + 100; i < end; i++) if (p.capture(T, "main", "agent:main:main", { i, PAD }) !== "ok") notOk++;
      (spooling ? during : before).push(((performance.now() - t0) * 1e6) / 100);
      await new Promise((r) => setTimeout(r, 10)); // ~10k events/s
    }
    expect(notOk).toBe(0);
    let c = await counters(p);
    expect(c.dropped.total).toBe(0);
    expect(c.captured).toBe(N);
    expect((await p.status()).counters.pending).toBe(N);
    expect(readdirSync(join(dir, "a")).some((f) => f.endsWith(".seg"))).toBe(true);
    expect(during.length).toBeGreaterThan(0);
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
    console.log(
      `host capture cost per event (median of batches): before spooling ${median(before).toFixed(0)} ns, while spooling ${median(during).toFixed(0)} ns`,
    );

    const server = await NatsServer.start({ port });
    try {
      await waitFor(async () => (await counters(p)).acked === N, 60_000, "delivery of the spool");
      c = await counters(p);
      expect(c.pending).toBe(0);
      const s = await p.status();
      expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
      await p.stop();
      await expectEachEventOnce(server.url, "spooled", N);
      // Fully acked segments are deleted.
      expect(readdirSync(join(dir, "a")).filter((f) => f.endsWith(".seg"))).toEqual([]);
    } finally {
      await server.dispose();
    }
  }, 120_000);

  it("a graceful stop with NATS down spools the ring; the next start (a new process) sends it first, once", async () => {
    const port = await freePort();
    const spoolDir = join(dir, "b");
    const first = testPipeline(`nats://127.0.0.1:${port}`, {
      streamName: "restart",
      subjectPrefix: "rs",
      drainTimeoutMs: 300,
    });
    first.start(spoolDir);
    for (let i = 0; i < 500; i++) first.capture(T, "main", "s", { i });
    await first.stop();
    expect(readdirSync(spoolDir).filter((f) => f.endsWith(".seg")).length).toBeGreaterThan(0);

    const server = await NatsServer.start({ port });
    try {
      // A new pipeline stands for the next gateway process: new ring, new instance id.
      const second = testPipeline(server.url, { streamName: "restart", subjectPrefix: "rs" });
      second.start(spoolDir);
      for (let i = 500; i < 600; i++) second.capture(T, "main", "s", { i });
      await waitFor(
        async () => (await counters(second)).pending === 0 && readdirSync(spoolDir).every((f) => !f.endsWith(".seg")),
        30_000,
        "spool replay",
      );
      await second.stop();
      await expectEachEventOnce(server.url, "restart", 600);
      // The spooled events come first, in capture order.
      const order = (await readStream(server.url, "restart")).map(
        (m) => JSON.parse(Buffer.from(m.data).toString()).payload.i,
      );
      expect(order).toEqual([...Array(600).keys()]);
    } finally {
      await server.dispose();
    }
  }, 60_000);

  it("a worker killed while the spool holds events: its successor replays them, nothing lost or doubled", async () => {
    const port = await freePort();
    const p = testPipeline(`nats://127.0.0.1:${port}`, {
      ringBytes: 262_144,
      maxPayloadBytes: 4096,
      streamName: "crashspool",
      subjectPrefix: "cs",
    });
    p.start(join(dir, "c"));
    await workerUp(p);
    for (let i = 0; i < 3000; i++) {
      p.capture(T, "main", "s", { i, PAD });
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(
      async () => (await counters(p)).dropped.total === 0 && p.views.counters[Counter.spooled] > 0,
      10_000,
      "spooling",
    );
    await killWorker(p);
    const server = await NatsServer.start({ port });
    try {
      await waitFor(async () => (await counters(p)).acked === 3000, 60_000, "replay by the new worker");
      await p.stop();
      await expectEachEventOnce(server.url, "crashspool", 3000);
    } finally {
      await server.dispose();
    }
  }, 90_000);

  it("a full spool is reported; events wait in the ring, drops are counted, the rest is delivered once", async () => {
    const port = await freePort();
    const log = new MemoryLogger();
    const p = testPipeline(
      `nats://127.0.0.1:${port}`,
      {
        ringBytes: 65_536,
        maxPayloadBytes: 4096,
        spoolMaxBytes: 100_000,
        streamName: "fullspool",
        subjectPrefix: "fs",
      },
      log,
    );
    p.start(join(dir, "d"));
    await workerUp(p);
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      if (p.capture(T, "main", "s", { i, PAD }) === "ok") ok++;
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(
      () => log.lines.some((l) => l.includes("spool is full (spoolMaxBytes 100000)")),
      5000,
      "the log line",
    );
    let s = await p.status();
    expect(s.counters.spool.full).toBe(true);
    expect(s.counters.dropped.ringFull).toBe(3000 - ok);
    expect(s.counters.dropped.ringFull).toBeGreaterThan(0);
    const server = await NatsServer.start({ port });
    try {
      await waitFor(async () => (await counters(p)).pending === 0, 30_000, "delivery");
      s = await p.status();
      expect(s.counters.acked).toBe(ok);
      expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
      await p.stop();
      expect((await readStream(server.url, "fullspool")).length).toBe(ok);
    } finally {
      await server.dispose();
    }
  }, 60_000);

  it("an unusable spool directory is reported clearly; events wait in the ring, drops are counted", async () => {
    const port = await freePort();
    const log = new MemoryLogger();
    const p = testPipeline(
      `nats://127.0.0.1:${port}`,
      { ringBytes: 65_536, maxPayloadBytes: 4096, streamName: "nospool", subjectPrefix: "ns" },
      log,
    );
    p.start("/dev/null/spool"); // not a directory
    const results = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const r = p.capture(T, "main", "s", { i, PAD });
      results.set(r, (results.get(r) ?? 0) + 1);
    }
    await waitFor(
      () => log.lines.some((l) => l.includes("cannot use spool directory /dev/null/spool")),
      5000,
      "the log line",
    );
    // Drops are not silent: the supervisor says how many, and why, within a second or so.
    await waitFor(
      () => log.lines.some((l) => /events dropped: \d+ because the ring was full/.test(l)),
      5000,
      "the drop line",
    );
    const s = await p.status();
    expect(s.counters.spool.failed).toBe(true);
    expect(s.counters.dropped.ringFull).toBe(results.get("ring-full"));
    expect(s.counters.dropped.ringFull).toBeGreaterThan(0);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    await p.stop();
  });
});
