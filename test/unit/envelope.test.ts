import { describe, expect, it } from "vitest";
import { unpack } from "msgpackr";
import { createRing, ringViews, Counter } from "../../src/ring/layout.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import { EventCapture } from "../../src/capture.ts";
import { EnvelopeBuilder, writeUuid } from "../../workers/envelope.ts";
import { MAX_AGENT_CHARS, MAX_SESSION_CHARS, REC_OFF_TS } from "../../src/record/format.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { Encoding } from "../../src/record/format.ts";

const INSTANCE = 0x9abcdef1 | 0;

function roundTrip(encoding: Encoding, agent: string, session: string, payload: unknown, maxPayloadBytes = 64 * 1024) {
  const v = ringViews(createRing(1 << 20, INSTANCE));
  const cap = new EventCapture(v, { encoding, maxPayloadBytes });
  const result = cap.capture(eventTypeIndex("msg.in"), agent, session, payload);
  const consumer = new RingConsumer(v);
  const b = new EnvelopeBuilder(v, encoding, INSTANCE >>> 0, "oc.ev");
  const pos = consumer.next();
  if (pos < 0) return { result, v };
  const m = b.build(pos);
  const headers = Buffer.from(m.headers).toString("latin1");
  const body = Buffer.from(m.body);
  return { result, v, m, headers, env: encoding === "json" ? JSON.parse(body.toString("utf8")) : unpack(body) };
}

describe("record -> envelope", () => {
  it("builds the seed envelope in the seed's field order with a Nats-Msg-Id equal to the id", () => {
    const before = Date.now();
    const { env, headers, m } = roundTrip("json", "main", "agent:main:main", { from: "u1", content: "hi", n: 3 });
    expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
    expect(env).toMatchObject({
      agent: "main",
      session: "agent:main:main",
      type: "msg.in",
      payload: { from: "u1", content: "hi", n: 3 },
    });
    expect(env.ts).toBeGreaterThanOrEqual(before);
    expect(env.ts).toBeLessThanOrEqual(Date.now());
    expect(env.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(headers).toBe(`NATS/1.0\r\nNats-Msg-Id: ${env.id}\r\n\r\n`);
    expect(m!.subject).toBe("oc.ev.main.msg_in");
  });

  it("escapes agent and session strings that JSON cannot carry raw, and keeps unicode", () => {
    const agent = 'a"b\\c';
    const session = "sess\nion-é-😀";
    const { env, m } = roundTrip("json", agent, session, { t: "ü" });
    expect(env.agent).toBe(agent);
    expect(env.session).toBe(session);
    expect(env.payload.t).toBe("ü");
    expect(m!.subject).toMatch(/^oc\.ev\.a"b\\c\.msg_in$/);
  });

  it("maps unsafe agent ids to a stable safe subject token", () => {
    const a = roundTrip("json", "my.agent *>", "s", {});
    const b = roundTrip("json", "my.agent *>", "s", {});
    expect(a.m!.subject).toBe(b.m!.subject);
    expect(a.m!.subject.split(".")).toHaveLength(4);
    expect(a.env.agent).toBe("my.agent *>"); // the envelope keeps the real id
  });

  it("builds a standard MessagePack envelope with a Content-Type header", () => {
    const { env, headers } = roundTrip("msgpack", "main", "agent:main:x", {
      list: [1, 2],
      nested: { ok: true },
      s: "x".repeat(300),
    });
    expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
    expect(typeof env.ts).toBe("number");
    expect(env.payload).toEqual({ list: [1, 2], nested: { ok: true }, s: "x".repeat(300) });
    expect(headers).toContain("Content-Type: application/msgpack\r\n");
    expect(headers).toContain(`Nats-Msg-Id: ${env.id}\r\n`);
  });

  it("gives the same record the same id every time, and different records different ids", () => {
    const out = new Uint8Array(36);
    const id = (ts: number, seq: number) => (writeUuid(out, 0, ts, INSTANCE >>> 0, seq), Buffer.from(out).toString());
    expect(id(1795654387470, 5)).toBe(id(1795654387470, 5));
    expect(id(1795654387470, 5)).not.toBe(id(1795654387470, 6));
    expect(id(1795654387470, 2 ** 33 + 1)).not.toBe(id(1795654387470, 1));
    // The first 48 bits are the timestamp (UUIDv7), so ids sort by time.
    expect(parseInt(id(1795654387470, 5).replace(/-/g, "").slice(0, 12), 16)).toBe(1795654387470);
  });

  it("truncates an oversized payload with a visible marker and counts it", () => {
    const { env, v } = roundTrip("json", "main", "s", { content: "x".repeat(50_000), keep: 1 }, 4096);
    expect(env.payload._truncated).toEqual({ limitBytes: 4096 }); // cut before any encoding: its size was never measured
    expect(env.payload.keep).toBe(1);
    expect(env.payload.content.length).toBeLessThan(4096);
    expect(env.payload.content).toMatch(/…\[truncated \d+ chars\]$/);
    expect(v.counters[Counter.truncated]).toBe(1);
    // Few enough characters for the plain encoder, too many bytes: cut after encoding, size known.
    const multibyte = roundTrip("json", "main", "s", { content: "é".repeat(3000), keep: 1 }, 4096);
    expect(multibyte.env.payload._truncated).toEqual({ limitBytes: 4096, originalBytes: 6023 });
    expect(multibyte.env.payload.keep).toBe(1);
  });

  it("makes unserialisable payloads safe instead of failing, and counts them", () => {
    const cyclic: Record<string, unknown> = { a: 1, big: 10n };
    cyclic.self = cyclic;
    const { env, v, result } = roundTrip("json", "main", "s", cyclic);
    expect(result).toBe("ok");
    expect(env.payload).toEqual({ a: 1, big: "10", self: "[Circular]" });
    expect(v.counters[Counter.sanitized]).toBe(1);
  });

  it("marks a payload whose properties cannot even be listed, without throwing", () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("no");
        },
      },
    );
    const { result, env, v } = roundTrip("json", "main", "s", { inner: hostile });
    expect(result).toBe("ok");
    expect(env.payload).toEqual({ inner: "[Unreadable]" });
    expect(v.counters[Counter.sanitized]).toBe(1);
  });

  it("counts an event that cannot be written at all as rejected, without throwing", () => {
    const { result, v } = roundTrip("json", Symbol("not a string") as unknown as string, "s", {});
    expect(result).toBe("rejected");
    expect(v.counters[Counter.rejected]).toBe(1);
    expect(v.counters[Counter.captured]).toBe(1);
    expect(v.counters[Counter.written]).toBe(0);
  });

  it("never cuts a message: longest agent and session, escaped or multi-byte, any ts, across arena chunks", () => {
    // Each message's bytes are carved one after another from shared chunks: a size computed too small
    // lets the next message overwrite the end of this one, or cuts it at the end of its chunk.
    const agents = ["\u0001".repeat(MAX_AGENT_CHARS), "€".repeat(MAX_AGENT_CHARS), "😀".repeat(MAX_AGENT_CHARS / 2)];
    const sessions = [
      "€".repeat(MAX_SESSION_CHARS),
      '"\\'.repeat(MAX_SESSION_CHARS / 2),
      "\n".repeat(MAX_SESSION_CHARS),
    ];
    // Spooled records come from disk: their ts is whatever the file says; the longest decimal text.
    const tsValues = [-Number.MAX_VALUE, 1795654387470, -5e-324, 0.1 + 0.2];
    for (const encoding of ["json", "msgpack"] as const) {
      const v = ringViews(createRing(1 << 22, INSTANCE));
      const cap = new EventCapture(v, { encoding, maxPayloadBytes: 64 * 1024 });
      const expected: { agent: string; session: string; ts: number; payload: unknown }[] = [];
      for (let i = 0; i < 60; i++) {
        const payload = { i, text: 'é€😀\u0000"'.repeat(1000 + i) };
        const agent = agents[i % agents.length];
        const session = sessions[Math.floor(i / agents.length) % sessions.length];
        expect(cap.capture(eventTypeIndex("tool.result"), agent, session, payload)).toBe("ok");
        expected.push({ agent, session, ts: tsValues[i % tsValues.length], payload });
      }
      const consumer = new RingConsumer(v);
      const b = new EnvelopeBuilder(v, encoding, INSTANCE >>> 0, "oc.ev");
      const built: { headers: Uint8Array; body: Uint8Array }[] = [];
      for (let pos = consumer.next(), i = 0; pos >= 0; pos = consumer.next(), i++) {
        v.bytes.writeDoubleLE(expected[i].ts, pos + REC_OFF_TS);
        const m = b.build(pos);
        built.push({ headers: m.headers, body: m.body }); // views of the builder's chunks, checked at the end
      }
      expect(built.length).toBe(expected.length);
      expect(new Set(built.map((m) => m.body.buffer)).size).toBeGreaterThan(2); // several chunks were used
      built.forEach((m, i) => {
        const body = Buffer.from(m.body);
        const env = encoding === "json" ? JSON.parse(body.toString("utf8")) : unpack(body);
        expect(env).toEqual({ id: env.id, type: "tool.result", ...expected[i] });
        const contentType = encoding === "json" ? "" : "Content-Type: application/msgpack\r\n";
        expect(Buffer.from(m.headers).toString("latin1")).toBe(
          `NATS/1.0\r\n${contentType}Nats-Msg-Id: ${env.id}\r\n\r\n`,
        );
      });
    }
  });

  it.each(["json", "msgpack"] as const)(
    "builds whole HPUB frames (%s): line, headers, envelope, CRLF, one after another",
    (encoding) => {
      const v = ringViews(createRing(1 << 20, INSTANCE));
      const cap = new EventCapture(v, { encoding, maxPayloadBytes: 64 * 1024 });
      const agents = ["main", "ünï", "my.agent *>"];
      for (let i = 0; i < 30; i++)
        cap.capture(eventTypeIndex("msg.in"), agents[i % 3], `s${i}`, { i, t: "é".repeat(i * 9) });
      const consumer = new RingConsumer(v);
      const reply = Buffer.from("_INBOX.abc.");
      const plain = new EnvelopeBuilder(v, encoding, INSTANCE >>> 0, "oc.ev");
      const framed = new EnvelopeBuilder(v, encoding, INSTANCE >>> 0, "oc.ev");
      let prev: { buf: Uint8Array; end: number } | undefined;
      let token = 4094;
      for (let pos = consumer.next(); pos >= 0; pos = consumer.next(), token++) {
        const m = plain.build(pos);
        const [subject, headers, body] = [m.subject, Buffer.from(m.headers), Buffer.from(m.body)];
        const f = framed.buildFrame(pos, v, INSTANCE >>> 0, reply, token);
        const frame = Buffer.from(f.frame);
        const line = `HPUB ${subject} _INBOX.abc.${token} ${headers.length} ${headers.length + body.length}\r\n`;
        expect(frame.toString("latin1", 0, Buffer.byteLength(line))).toBe(Buffer.from(line).toString("latin1"));
        // The same headers and envelope as a plain build, then CRLF, and nothing else.
        expect(
          Buffer.compare(frame.subarray(Buffer.byteLength(line)), Buffer.concat([headers, body, Buffer.from("\r\n")])),
        ).toBe(0);
        expect(f.payloadBytes).toBe(headers.length + body.length);
        expect(Buffer.compare(Buffer.from(f.headers), headers) + Buffer.compare(Buffer.from(f.body), body)).toBe(0);
        // Frames follow each other in one chunk without a gap, so the publisher sends runs of them.
        if (prev && prev.buf === f.buf) expect(f.frameStart).toBe(prev.end);
        prev = { buf: f.buf, end: f.end };
      }
      expect(token).toBe(4094 + 30);
    },
  );
});
