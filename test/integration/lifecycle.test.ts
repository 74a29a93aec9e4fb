import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { freePort, NatsServer } from "../helpers/nats-server.ts";
import { readStream, streamMessageCount, waitFor } from "../helpers/stream-reader.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";

const T = eventTypeIndex("session.start");

describe("lifecycle", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("starts while NATS is down, keeps events in the ring, delivers them once NATS appears", async () => {
    const port = await freePort();
    const p = testPipeline(`nats://127.0.0.1:${port}`, {
      streamName: "late",
      subjectPrefix: "late",
      connectTimeoutMs: 500,
    });
    p.start();
    for (let i = 0; i < 1000; i++) p.capture(T, "main", "agent:main:main", { i });
    // The first attempt fails: the publisher reports why and keeps trying in the background.
    await waitFor(async () => (await p.status()).state === "degraded", 15_000, "the connection error");
    let s = await p.status();
    expect(s.connection.state).toBe("connecting");
    expect(s.lastError).toMatch(/cannot connect to NATS/);
    expect(s.counters.pending).toBe(1000);
    const late = await NatsServer.start({ port });
    try {
      await waitFor(async () => (await p.status()).counters.acked === 1000, 30_000, "delivery after NATS started");
      s = await p.status();
      expect([s.state, s.connection.state]).toEqual(["running", "connected"]);
      await p.stop();
      expect((await p.status()).state).toBe("stopped");
      expect(await streamMessageCount(late.url, "late")).toBe(1000);
    } finally {
      await late.dispose();
    }
  }, 60_000);

  it("stop() publishes what is queued and waits for the acks before closing", async () => {
    const p = testPipeline(server.url, { streamName: "drain", subjectPrefix: "drain" });
    p.start();
    await waitFor(async () => (await p.status()).connection.state === "connected", 10_000, "connect");
    for (let i = 0; i < 20_000; i++) p.capture(T, "main", "s", { i });
    const stopping = p.stop();
    expect(p.supervisor.state).toBe("stopping");
    await stopping;
    const s = await p.status();
    expect(s.state).toBe("stopped");
    expect(s.counters.acked).toBe(20_000);
    expect(s.connection.state).toBe("closed");
    expect(await streamMessageCount(server.url, "drain")).toBe(20_000);
  }, 60_000);

  it("status() adds up: captured = acked + dropped + pending, with percentiles", async () => {
    // A 64 KiB ring and no NATS: the ring fills, further events are dropped and counted.
    const port = await freePort();
    const p = testPipeline(`nats://127.0.0.1:${port}`, {
      ringBytes: 65_536,
      maxPayloadBytes: 4096,
      streamName: "acct",
      subjectPrefix: "acct",
    });
    p.start();
    const results = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const r = p.capture(T, "main", "s", { i, pad: "x".repeat(100) });
      results.set(r, (results.get(r) ?? 0) + 1);
    }
    let s = await p.status();
    expect(results.get("ring-full")).toBeGreaterThan(0);
    expect(s.counters.dropped.ringFull).toBe(results.get("ring-full"));
    expect(s.counters.captured).toBe(2000);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    expect(s.ring.usedBytes).toBeGreaterThan(60_000);
    const late = await NatsServer.start({ port });
    try {
      await waitFor(async () => (await p.status()).counters.pending === 0, 30_000, "drain");
      s = await p.status();
      expect(s.counters.acked).toBe(results.get("ok"));
      expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
      expect(s.latency.captureToAck.count).toBe(s.counters.acked);
      expect(s.latency.captureToAck.p50).toBeGreaterThan(0);
      expect(s.latency.captureToAck.p99).toBeGreaterThanOrEqual(s.latency.captureToAck.p50);
      expect(s.latency.captureToAck.max).toBeGreaterThanOrEqual(s.latency.captureToAck.p999);
      expect(s.latency.publishToAck.count).toBe(s.counters.acked);
      expect(JSON.stringify(s)).not.toMatch(/password|secret/i);
    } finally {
      await p.stop();
      await late.dispose();
    }
  }, 60_000);

  it("creates the stream with the configured retention and updates an existing one", async () => {
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "retained", subjects: ["other.>"], max_msgs: 5 });
    const p = testPipeline(server.url, {
      streamName: "retained",
      subjectPrefix: "ret",
      retention: { maxMessages: 1000, maxBytes: 10_000_000, maxAgeHours: 2 },
      duplicateWindowMs: 60_000,
    });
    p.start();
    p.capture(T, "main", "s", {});
    await waitFor(async () => (await p.status()).counters.acked === 1, 10_000, "ack");
    const s = await p.status();
    await p.stop();
    const cfg = (await jsm.streams.info("retained")).config;
    await nc.close();
    expect(s.stream?.action).toBe("updated");
    expect(cfg.subjects).toEqual(["other.>", "ret.>"]);
    expect(cfg.max_msgs).toBe(1000);
    expect(cfg.max_bytes).toBe(10_000_000);
    expect(cfg.max_age).toBe(2 * 3600 * 1e9);
    expect(cfg.duplicate_window).toBe(60 * 1e9);
  });

  it("explains clearly when an existing stream differs in what NATS cannot change, and still publishes", async () => {
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({
      name: "memstream",
      subjects: ["mem.>"],
      storage: StorageType.Memory,
    });
    await nc.close();
    const log = new MemoryLogger();
    const p = testPipeline(server.url, { streamName: "memstream", subjectPrefix: "mem" }, log);
    p.start();
    p.capture(T, "main", "s", {});
    await waitFor(async () => (await p.status()).counters.acked === 1, 10_000, "ack");
    const s = await p.status();
    await p.stop();
    expect(s.stream?.warning).toMatch(/uses memory storage but storage is "file"; NATS cannot change storage/);
    expect(log.lines.some((l) => l.startsWith("warn") && l.includes("NATS cannot change storage"))).toBe(true);
    expect((await readStream(server.url, "memstream")).length).toBe(1);
  });

  it("connects with credentials from the URL and never shows them in status or logs", async () => {
    const secured = await NatsServer.start({ args: ["--user", "alice", "--pass", "s3cret-pw"] });
    try {
      const log = new MemoryLogger();
      const url = `nats://alice:s3cret-pw@127.0.0.1:${secured.port}`;
      const p = testPipeline(url, { streamName: "authed", subjectPrefix: "authed" }, log);
      p.start();
      p.capture(T, "main", "s", { i: 1 });
      await waitFor(
        async () => (await p.status()).counters.acked === 1,
        15_000,
        "ack over an authenticated connection",
      );
      const s = await p.status();
      await p.stop();
      expect(s.connection.server).toBe(`127.0.0.1:${secured.port}`);
      expect(JSON.stringify(s) + log.lines.join("\n")).not.toContain("s3cret-pw");
      // A wrong password never connects, never throws into the host, and is not echoed either.
      const bad = testPipeline(
        `nats://alice:wrong-pw@127.0.0.1:${secured.port}`,
        { streamName: "authed", subjectPrefix: "authed", connectTimeoutMs: 500 },
        log,
      );
      bad.start();
      bad.capture(T, "main", "s", { i: 2 });
      await new Promise((r) => setTimeout(r, 1500));
      const b = await bad.status();
      expect(b.connection.state).not.toBe("connected");
      expect(b.counters.pending).toBe(1);
      expect(b.lastError).toMatch(/authorization/i);
      expect(
        log.lines.some((l) => /warn .*cannot connect to NATS .*authorization.*retrying in the background/i.test(l)),
      ).toBe(true);
      await bad.stop();
      expect(JSON.stringify(b) + log.lines.join("\n")).not.toContain("wrong-pw");
    } finally {
      await secured.dispose();
    }
  }, 60_000);

  it("publishes MessagePack envelopes when encoding is msgpack", async () => {
    const { unpack } = await import("msgpackr");
    const p = testPipeline(server.url, { streamName: "mp", subjectPrefix: "mp", encoding: "msgpack" });
    p.start();
    p.capture(T, "main", "agent:main:main", { sessionId: "abc", n: 1 });
    await waitFor(async () => (await p.status()).counters.acked === 1, 10_000, "ack");
    await p.stop();
    const [m] = await readStream(server.url, "mp");
    expect(m.contentType).toBe("application/msgpack");
    const env = unpack(m.data);
    expect(env).toMatchObject({
      agent: "main",
      session: "agent:main:main",
      type: "session.start",
      payload: { sessionId: "abc", n: 1 },
    });
    expect(m.msgId).toBe(env.id);
  });
});
