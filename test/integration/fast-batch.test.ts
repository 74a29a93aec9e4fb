// publishMode "fast-batch" against a real server. On nats-server 2.14+ (API level 4) the worker turns
// allow_batched on and publishes in fast batches: a spy connection sees every record go out with a
// `.$FI` reply subject and far fewer replies than records. On older servers (2.9.10 here) it falls
// back to a PubAck per event, says so in one log line and in status, and never sends a fast-batch
// message (2.9.10 would store an end of batch as an empty message).
import { afterAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsServer, serverAtLeast } from "../helpers/nats-server.ts";
import { readStream, waitFor } from "../helpers/stream-reader.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { EventPipeline } from "../../src/pipeline.ts";

const T = eventTypeIndex("tool.result");
const PAD = "b".repeat(200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST = serverAtLeast(2, 14);

/** Counts what goes over the wire for a subject prefix: records by reply kind, and replies to inboxes. */
async function spy(url: string, prefix: string) {
  const nc: NatsConnection = await connect({ servers: url });
  const seen = { records: 0, fastRecords: 0, endOfBatch: 0, replies: 0, fastReplies: 0 };
  nc.subscribe(`${prefix}.>`, {
    callback: (_e, m) => {
      seen.records++;
      if (m.reply?.endsWith(".$FI")) {
        seen.fastRecords++;
        if (m.reply.split(".").at(-2) === "3") seen.endOfBatch++;
      }
    },
  });
  nc.subscribe("_INBOX.>", {
    callback: (_e, m) => {
      seen.replies++;
      if (m.subject.endsWith(".$FI")) seen.fastReplies++;
    },
  });
  await nc.flush();
  return { seen, close: () => nc.close() };
}

/** Captures `total` events as fast as the ring takes them, pausing while too many wait for acks. */
async function captureAll(p: EventPipeline, total: number, first = 0): Promise<void> {
  for (let i = first; i < first + total; ) {
    const s = await p.status();
    if (s.counters.pending > 20_000) {
      await sleep(2);
      continue;
    }
    for (const end = Math.min(first + total, i + 2000); i < end; i++) {
      expect(p.capture(T, "main", "fb", { i, PAD })).toBe("ok");
    }
    await sleep(0);
  }
}

describe(`publishMode fast-batch (${FAST ? "fast batches" : "fallback to inbox acks"} on this server)`, () => {
  const servers: NatsServer[] = [];
  const pipelines: EventPipeline[] = [];
  afterAll(async () => {
    for (const p of pipelines) await p.stop().catch(() => {});
    for (const s of servers) await s.dispose();
  });

  it("100k events stored exactly once and in capture order", async () => {
    const server = await NatsServer.start();
    servers.push(server);
    const log = new MemoryLogger();
    const p = testPipeline(server.url, { streamName: "fb", subjectPrefix: "fb", publishMode: "fast-batch" }, log);
    pipelines.push(p);
    const wire = await spy(server.url, "fb");
    p.start();
    await waitFor(async () => (await p.status()).stream?.publishMode !== undefined, 15_000, "stream check");
    const TOTAL = 100_000;
    await captureAll(p, TOTAL);
    await waitFor(async () => (await p.status()).counters.pending === 0, 60_000, "every event acked");
    const s = await p.status();
    await wire.close();
    await p.stop();

    expect(s.counters.acked).toBe(TOTAL);
    expect(s.counters.dropped.total).toBe(0);
    expect(s.counters.foreignAcks).toBe(0);
    expect(s.counters.failed).toBe(0);
    const stored = await readStream(server.url, "fb");
    const order = stored.map((m) => JSON.parse(Buffer.from(m.data).toString()).payload.i as number);
    expect(order.length).toBe(TOTAL);
    expect(order.every((v, k) => v === k)).toBe(true); // once each, in capture order
    expect(stored.every((m) => m.msgId !== undefined && m.data.length > 0)).toBe(true); // no end of batch stored

    const info = await (async () => {
      const nc = await connect({ servers: server.url });
      try {
        return await (await jetstreamManager(nc)).streams.info("fb");
      } finally {
        await nc.close();
      }
    })();
    console.log(`wire: ${JSON.stringify(wire.seen)}; counters: ${JSON.stringify(s.counters)}`);
    const modeLines = log.lines.filter((l) => l.includes("publishMode fast-batch"));
    if (FAST) {
      expect(s.stream).toMatchObject({ publishMode: "fast-batch" });
      expect(info.config.allow_batched).toBe(true);
      expect(modeLines).toEqual([
        expect.stringMatching(/^info \[nats-eventstore\] publishMode fast-batch: publishing in fast batches/),
      ]);
      expect(wire.seen.fastRecords).toBe(wire.seen.records);
      expect(wire.seen.endOfBatch).toBeGreaterThan(0);
      // One reply per flow ack (up to 500 records) and per batch start and end, not one per record.
      expect(wire.seen.fastReplies).toBeLessThan(TOTAL / 10);
      expect(wire.seen.replies - wire.seen.fastReplies).toBeLessThan(20); // the stream API's replies
    } else {
      expect(s.stream).toMatchObject({ publishMode: "inbox", publishModeNote: expect.stringMatching(/2\.14/) });
      expect(info.config.allow_batched).toBeUndefined(); // never asked for
      expect(modeLines).toEqual([
        expect.stringMatching(/^warn \[nats-eventstore\] publishMode fast-batch: nats-server .* has no fast batch/),
      ]);
      expect(wire.seen.fastRecords).toBe(0);
      expect(wire.seen.replies).toBeGreaterThanOrEqual(TOTAL);
    }
  }, 120_000);

  it.runIf(FAST)(
    "NATS SIGKILLed twice in the middle of batches: every event stored exactly once",
    async () => {
      const server = await NatsServer.start();
      servers.push(server);
      const p = testPipeline(server.url, { streamName: "fbk", subjectPrefix: "fbk", publishMode: "fast-batch" });
      pipelines.push(p);
      p.start();
      await waitFor(async () => (await p.status()).stream?.publishMode === "fast-batch", 15_000, "fast batches");
      const TOTAL = 120_000;
      // Two kills at random points of the run, each right after a burst, while its batch is being published.
      const kills = [0.2 + Math.random() * 0.2, 0.55 + Math.random() * 0.2].map((at) => Math.floor(at * TOTAL));
      const downMs = kills.map(() => 100 + Math.floor(Math.random() * 700));
      console.log(`SIGKILL plan: after events ${kills.join(", ")}; down ${downMs.join(", ")} ms`);
      let next = 0;
      for (const [k, at] of kills.entries()) {
        await captureAll(p, at - 20_000 - next, next);
        next = at - 20_000;
        for (; next < at; next++) p.capture(T, "main", "fb", { i: next, PAD }); // a burst, published in fast batches...
        await sleep(Math.random() * 20);
        const before = await p.status();
        expect(before.counters.pending).toBeGreaterThan(0); // ...whose acks have not all come
        await server.stop("SIGKILL");
        await sleep(downMs[k]);
        await server.restart();
        await waitFor(async () => (await p.status()).counters.acked > before.counters.acked, 30_000, "acks");
      }
      await captureAll(p, TOTAL - next, next);
      await waitFor(async () => (await p.status()).counters.pending === 0, 60_000, "every event acked");
      const s = await p.status();
      console.log(`after 2 NATS kills: ${JSON.stringify(s.counters)}`);
      await p.stop();
      expect(s.stream).toMatchObject({ publishMode: "fast-batch" }); // still, after the restarts
      expect(s.counters.captured).toBe(TOTAL);
      expect(s.counters.acked).toBe(TOTAL);
      expect(s.counters.dropped.total).toBe(0);
      expect(s.counters.reconnects).toBeGreaterThanOrEqual(2);
      expect(s.counters.workerCrashes).toBe(0);
      const stored = await readStream(server.url, "fbk");
      const seen = new Uint8Array(TOTAL);
      for (const m of stored) seen[JSON.parse(Buffer.from(m.data).toString()).payload.i]++;
      const missing = seen.filter((v) => v === 0).length;
      const twice = seen.filter((v) => v > 1).length;
      expect({ stored: stored.length, missing, twice }).toEqual({ stored: TOTAL, missing: 0, twice: 0 });
      expect(stored.every((m) => m.data.length > 0)).toBe(true);
    },
    180_000,
  );

  it("publishMode inbox (the default) leaves the stream's allow_batched alone and says which path it uses", async () => {
    const server = await NatsServer.start();
    servers.push(server);
    const p = testPipeline(server.url, { streamName: "ib", subjectPrefix: "ib" });
    pipelines.push(p);
    const wire = await spy(server.url, "ib");
    p.start();
    await waitFor(() => p.supervisor.connection === "connected", 15_000, "connect");
    await captureAll(p, 1000);
    await waitFor(async () => (await p.status()).counters.pending === 0, 30_000, "every event acked");
    const s = await p.status();
    await wire.close();
    await p.stop();
    expect(s.stream).toMatchObject({ publishMode: "inbox" });
    expect(s.stream?.publishModeNote).toBeUndefined();
    expect(wire.seen.fastRecords).toBe(0);
    expect(wire.seen.records).toBe(1000);
  });
});
