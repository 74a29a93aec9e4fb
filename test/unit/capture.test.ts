// The capture path's ways of writing a record: whatever way a payload takes into the ring (the
// UTF-8 bound reserved or the exact size, a plain UTF-8 write or the UTF-16 copy + transcode of
// two-byte text, a memcpy of MessagePack bytes), the stored payload is the bytes of
// JSON.stringify / msgpackr's pack of it, or exactly what encodePayload() makes of it when it has
// to be cut.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Packr, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { EventCapture } from "../../src/capture.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import { type Encoding, FLAG_UTF16, REC_HEADER_BYTES, recFlags } from "../../src/record/format.ts";
import { encodePayload } from "../../src/record/payload.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import {
  Counter,
  CTL_I32_RELEASE,
  CTL_I32_WRITE,
  createRing,
  ringViews,
  type RingViews,
} from "../../src/ring/layout.ts";
import { EnvelopeBuilder } from "../../workers/envelope.ts";
import { Spool } from "../../workers/spool.ts";
import { ringRecords } from "../helpers/spool-files.ts";

const TYPE = eventTypeIndex("tool.result");
const PLUGIN_MSGPACK = new Packr({
  useRecords: false,
  moreTypes: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0]);

function ring(bytes = 1 << 22) {
  const v = ringViews(createRing(bytes, 7));
  return { v, consumer: new RingConsumer(v) };
}

/** The payload bytes and envelope of every record in the ring, in order; then frees the ring. */
function records(v: RingViews, consumer: RingConsumer, encoding: Encoding) {
  const b = new EnvelopeBuilder(v, encoding, 7, "t");
  const out: { payload: Buffer; agent: string; session: string; flags: number }[] = [];
  for (let pos = consumer.next(); pos >= 0; pos = consumer.next()) {
    const flags = recFlags(v, pos);
    const body = Buffer.from(b.build(pos).body);
    if (encoding === "json") {
      const at = body.indexOf('"payload":') + 10;
      const env = JSON.parse(body.toString("utf8"));
      out.push({ payload: body.subarray(at, body.length - 1), agent: env.agent, session: env.session, flags });
    } else {
      const env = unpack(body) as { agent: string; session: string; payload: unknown };
      // the payload is the map's last value: the bytes after its key
      const at = body.lastIndexOf(Buffer.from([0xa7, ...Buffer.from("payload")])) + 8;
      out.push({ payload: body.subarray(at), agent: env.agent, session: env.session, flags });
    }
  }
  consumer.release(consumer.cursor);
  return out;
}

/** `{ t }` whose JSON text has the high surrogate of a pair at index `at` (`{"t":"` is 6 units). */
const pairAt = (at: number) => ({ t: `${"a".repeat(at - 6)}😀${"漢".repeat(30_000)}` });

describe("capture: what reaches the ring", () => {
  const PAYLOADS: [string, unknown][] = [
    ["small", { seq: 1, toolName: "exec", params: { command: "ls" } }],
    ["ASCII, 50 KB", { text: "x".repeat(50_000), lines: 'a\nb\tc"d\\'.repeat(100) }],
    ["Latin-1 only (a one-byte string with bytes above 0x7f)", { text: "é à ü ß ".repeat(500) }],
    ["two-byte, just under the transcode threshold", { t: "✓".repeat(1000) }],
    ["two-byte, one wide character at the very end", { t: `${"a".repeat(5000)}✓` }],
    ["two-byte with emoji and U+2028", { out: "✓ passed 😀\u2028 line\n".repeat(800) }],
    // JSON text of several 16,384-unit chunks, a surrogate pair across the first chunk boundary or just before it
    ["surrogate pair across the first chunk boundary", pairAt(16_383)],
    ["surrogate pair ending the first chunk", pairAt(16_382)],
    ["lone surrogates (escaped by JSON.stringify)", { t: `${"\ud800x\udfff".repeat(2000)}漢` }],
  ];

  for (const [name, payload] of PAYLOADS) {
    const json = JSON.stringify(payload);
    const utf8 = Buffer.from(json, "utf8");
    const wide = /[^\u0000-\u00ff]/.test(json) && json.length >= 1024;
    it(`stores JSON.stringify's UTF-8 exactly: ${name}`, () => {
      // with room to spare (two-byte text crosses the ring as UTF-16), and with a maxPayloadBytes
      // under 3 bytes per unit, where the size is learnt while writing (two-byte text: transcoded)
      for (const maxPayloadBytes of [256 * 1024, utf8.length]) {
        const { v, consumer } = ring();
        const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes });
        expect(cap.capture(TYPE, "main", "agent:main:main", payload)).toBe("ok");
        const [r] = records(v, consumer, "json");
        expect(r.payload.equals(utf8)).toBe(true);
        expect(r.flags & FLAG_UTF16).toBe(wide && json.length * 3 <= maxPayloadBytes ? FLAG_UTF16 : 0);
      }
    });
  }

  it("a UTF-16 record spooled to disk and replayed publishes the same UTF-8 payload", () => {
    const dir = mkdtempSync(join(tmpdir(), "capture-spool-"));
    try {
      const { v } = ring();
      const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: 64 * 1024 });
      const payloads = [{ out: "✓ ok 😀\n".repeat(400) }, { out: "plain" }];
      for (const p of payloads) expect(cap.capture(TYPE, "main", "s", p)).toBe("ok");
      const spool = new Spool(dir, 1 << 30, 7, "json", () => {});
      spool.open();
      for (const [pos, len] of ringRecords(v)) expect(spool.append(v.bytes, pos, len)).toBe(true);
      spool.flush(true);
      const seg = spool.nextSegment()!;
      const b = new EnvelopeBuilder(v, "json", 7, "t");
      const got = seg.scan.offsets.map((o) => JSON.parse(Buffer.from(b.build(o, seg.src, 7).body).toString()).payload);
      expect(got).toEqual(payloads);
      spool.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("publishes a damaged UTF-16 record (a lone surrogate) with U+FFFD instead of failing", () => {
    const { v, consumer } = ring();
    const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: 64 * 1024 });
    expect(cap.capture(TYPE, "m", "s", { t: "✓".repeat(2000) })).toBe("ok");
    const pos = consumer.next();
    expect(recFlags(v, pos) & FLAG_UTF16).toBe(FLAG_UTF16);
    // the payload starts after the header and the two 1-byte ids: `{"t":"` then the first ✓
    v.bytes.writeUInt16LE(0xd800, pos + REC_HEADER_BYTES + 2 + 12);
    const env = JSON.parse(Buffer.from(new EnvelopeBuilder(v, "json", 7, "t").build(pos).body).toString());
    expect(env.payload.t).toBe(`\ufffd${"✓".repeat(1999)}`);
  });

  for (const [name, payload] of PAYLOADS.slice(0, 6)) {
    it(`stores msgpackr's bytes exactly: ${name}`, () => {
      const { v, consumer } = ring();
      const cap = new EventCapture(v, { encoding: "msgpack", maxPayloadBytes: 256 * 1024 });
      expect(cap.capture(TYPE, "main", "agent:main:main", payload)).toBe("ok");
      const [r] = records(v, consumer, "msgpack");
      expect(r.payload.equals(PLUGIN_MSGPACK.pack(payload))).toBe(true);
      expect(unpack(r.payload)).toEqual(payload);
    });
  }

  it("cuts a payload that has few enough characters but too many UTF-8 bytes exactly as encodePayload does", () => {
    const max = 4096;
    for (const payload of [
      { content: "é".repeat(3000), keep: 1 }, // one-byte text: the plain UTF-8 write finds the size
      { content: "漢".repeat(2000), keep: 2 }, // two-byte text: the transcode path finds it
      { content: "😀".repeat(1100), keep: 3 }, // surrogate pairs: 2 units, 4 bytes each
    ]) {
      const { v, consumer } = ring();
      const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: max });
      expect(cap.capture(TYPE, "main", "s", payload)).toBe("ok");
      const [r] = records(v, consumer, "json");
      const expected = encodePayload(payload, "json", max);
      expect(expected.truncated).toBe(true);
      expect(r.payload.toString("utf8")).toBe(expected.body);
      expect(r.payload.length).toBeLessThanOrEqual(max);
      expect(v.counters[Counter.truncated]).toBe(1);
    }
  });

  it("keeps agent ids and session keys of any length and content as UTF-8", () => {
    const { v, consumer } = ring();
    const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: 4096 });
    const ids: [string, string][] = [
      ["main", "agent:main:main"],
      ["a".repeat(48), "s".repeat(49)], // the loop's longest, and one past it
      ["é-agent", "agent:ünïcode:😀"],
      ["x\ud800y", "ascii-then-wide-at-the-end-✓"], // a lone surrogate becomes U+FFFD, as Buffer#write makes it
      ["", ""],
    ];
    for (const [agent, session] of ids) expect(cap.capture(TYPE, agent, session, { n: 1 })).toBe("ok");
    const got = records(v, consumer, "json").map((r) => [r.agent, r.session]);
    expect(got).toEqual(ids.map(([a, s]) => [Buffer.from(a).toString(), Buffer.from(s).toString()]));
  });

  it("takes a record whose UTF-8 bound does not fit the ring's free space but whose exact size does", () => {
    const { v, consumer } = ring(1 << 16); // 64 KiB, records up to 32 KiB
    const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: 16_384 });
    // Fill all but ~15 KiB, then offer a body of a third of that: its bound does not fit, its exact size does.
    const filler = { t: "f".repeat(10_000) };
    for (let i = 0; i < 5; i++) expect(cap.capture(TYPE, "m", "s", filler)).toBe("ok");
    const free = v.capacity - ((Atomics.load(v.ctl, CTL_I32_WRITE) - Atomics.load(v.ctl, CTL_I32_RELEASE)) >>> 0);
    const body = { t: "b".repeat(Math.floor(free / 3)) };
    expect(REC_HEADER_BYTES + 2 * 3 + JSON.stringify(body).length * 3).toBeGreaterThan(free);
    expect(cap.capture(TYPE, "m", "s", body)).toBe("ok");
    const rs = records(v, consumer, "json");
    expect(rs).toHaveLength(6);
    expect(rs[5].payload.toString()).toBe(JSON.stringify(body));
    // and a full ring still refuses
    for (let i = 0; i < 6; i++) cap.capture(TYPE, "m", "s", filler);
    expect(cap.capture(TYPE, "m", "s", filler)).toBe("ring-full");
    expect(v.counters[Counter.droppedRingFull]).toBeGreaterThan(0);
  });

  it("refuses as too large only a record whose exact size is over half the ring", () => {
    const { v, consumer } = ring(1 << 16); // records up to 32 KiB
    const cap = new EventCapture(v, { encoding: "json", maxPayloadBytes: 1 << 20 });
    const fits = { t: "a".repeat(20_000) }; // bound ~60 KB, exact ~20 KB
    expect(cap.capture(TYPE, "m", "s", fits)).toBe("ok");
    expect(records(v, consumer, "json")[0].payload.toString()).toBe(JSON.stringify(fits));
    expect(cap.capture(TYPE, "m", "s", { t: "a".repeat(40_000) })).toBe("too-large");
    expect(cap.capture(TYPE, "m", "s", { t: "漢".repeat(11_000) })).toBe("too-large"); // 11,000 units, 33 KB
    expect(v.counters[Counter.droppedTooLarge]).toBe(2);
    const msgpack = new EventCapture(v, { encoding: "msgpack", maxPayloadBytes: 1 << 20 });
    expect(msgpack.capture(TYPE, "m", "s", { t: "a".repeat(40_000) })).toBe("too-large");
    expect(v.counters[Counter.droppedTooLarge]).toBe(3);
  });
});
