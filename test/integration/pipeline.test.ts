import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServer } from "../helpers/nats-server.ts";
import { readStream, waitFor } from "../helpers/stream-reader.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { EVENT_TYPES, eventTypeIndex } from "../../src/event-types.ts";

describe("pipeline against a real nats-server", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("delivers 100,000 captured events exactly once, in capture order, as seed envelopes", async () => {
    const p = testPipeline(server.url, { streamName: "it-100k", subjectPrefix: "it.k" });
    p.start();
    const N = 100_000;
    const agents = ["main", "ops", "weird.agent*>"];
    const t = eventTypeIndex("tool.call");
    let sent = 0;
    // Capture in slices so the host loop breathes, as a gateway would.
    while (sent < N) {
      const end = Math.min(N, sent + 2000);
      for (; sent < end; sent++) {
        const r = p.capture(t, agents[sent % 3], `agent:${agents[sent % 3]}:s${sent % 7}`, {
          i: sent,
          tool: "ls",
          params: { path: "." },
        });
        expect(r).toBe("ok");
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(async () => (await p.status()).counters.acked === N, 60_000, "all acks");
    const status = await p.status();
    await p.stop();

    const msgs = await readStream(server.url, "it-100k");
    expect(msgs.length).toBe(N);
    const ids = new Set<string>();
    for (let k = 0; k < N; k++) {
      const m = msgs[k];
      const env = JSON.parse(Buffer.from(m.data).toString("utf8"));
      expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
      expect(env.payload.i).toBe(k); // stream order = capture order
      expect(env.type).toBe("tool.call");
      expect(env.agent).toBe(agents[k % 3]);
      expect(m.msgId).toBe(env.id);
      ids.add(env.id);
    }
    expect(ids.size).toBe(N);
    expect(msgs[0].subject).toBe("it.k.main.tool_call");
    expect(msgs[2].subject).toMatch(/^it\.k\.weird_agent__-[0-9a-f]{16}\.tool_call$/);
    expect(status.counters.captured).toBe(
      status.counters.acked + status.counters.dropped.total + status.counters.pending,
    );
    expect(status.latency.captureToAck.count).toBe(N);
    expect(status.latency.captureToAck.p99).toBeGreaterThan(0);
  }, 120_000);

  it("stores each payload as the UTF-8 of its JSON.stringify, whichever way it crossed the ring", async () => {
    const p = testPipeline(server.url, { streamName: "it-text", subjectPrefix: "it.x" });
    p.start();
    const payloads = [
      { kind: "ASCII", t: 'x\n\t"'.repeat(12_000) },
      { kind: "Latin-1", t: "é à ü ß ".repeat(2000) },
      { kind: "two-byte (UTF-16 in the ring)", t: "✓ passed 😀 漢字\u2028\n".repeat(2000) },
      // more than maxPayloadBytes / 3 units: its UTF-8 size is learnt on the host (transcoded there)
      { kind: "two-byte, long", t: `${"✓".repeat(30_000)}${"a".repeat(60_000)}` },
      { kind: "lone surrogates, escaped", t: `\ud800${"漢".repeat(2000)}\udfff` },
    ];
    const t = eventTypeIndex("tool.result");
    for (const payload of payloads) expect(p.capture(t, "main", "agent:main:main", payload)).toBe("ok");
    await waitFor(async () => (await p.status()).counters.acked === payloads.length, 20_000, "acks");
    await p.stop();
    const msgs = await readStream(server.url, "it-text");
    expect(msgs.length).toBe(payloads.length);
    for (const [k, m] of msgs.entries()) {
      const body = Buffer.from(m.data);
      const stored = body.subarray(body.indexOf('"payload":') + 10, body.length - 1);
      expect(stored.equals(Buffer.from(JSON.stringify(payloads[k]))), payloads[k].kind).toBe(true);
    }
  });

  it("publishes every event type with the right subject", async () => {
    const p = testPipeline(server.url, { streamName: "it-types", subjectPrefix: "it.t" });
    p.start();
    for (let i = 0; i < EVENT_TYPES.length; i++) p.capture(i, "main", "agent:main:main", { n: i });
    await waitFor(async () => (await p.status()).counters.acked === EVENT_TYPES.length, 20_000, "acks");
    await p.stop();
    const msgs = await readStream(server.url, "it-types");
    expect(msgs.map((m) => m.subject)).toEqual(EVENT_TYPES.map((t) => `it.t.main.${t.replace(/\./g, "_")}`));
  });

  it("an event over the server's max_payload is counted undeliverable and logged; the others before and after go out", async () => {
    // The worker writes its own publish frames (workers/inbox-publisher.ts): the server's limit is
    // checked there, as the client checks it in publish().
    const small = await NatsServer.start({ config: "max_payload: 2048" });
    const log = new MemoryLogger();
    try {
      const p = testPipeline(small.url, { streamName: "it-max", subjectPrefix: "it.max" }, log);
      p.start();
      const t = eventTypeIndex("tool.result");
      for (let i = 0; i < 20; i++) p.capture(t, "main", "s", { i, text: i === 7 ? "x".repeat(3000) : "ok" });
      await waitFor(async () => (await p.status()).counters.acked === 19, 20_000, "acks of the others");
      const s = await p.status();
      await p.stop();
      expect(s.counters.dropped.undeliverable).toBe(1);
      expect(log.lines.filter((l) => l.includes("exceeds the server's max_payload"))).toHaveLength(1);
      const got = (await readStream(small.url, "it-max")).map(
        (m) => JSON.parse(Buffer.from(m.data).toString()).payload.i,
      );
      expect(got).toEqual([...Array(20).keys()].filter((i) => i !== 7));
    } finally {
      await small.dispose();
    }
  });
});
