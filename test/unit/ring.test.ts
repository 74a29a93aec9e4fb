import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { Counter, CTL_I32_WRITE, createRing, distance, ringUsed, ringViews } from "../../src/ring/layout.ts";
import { RingProducer } from "../../src/ring/producer.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import { patternByte, patternLength, STRESS } from "../helpers/ring-pattern.ts";

const CAP = 65_536;

function writeRecord(p: RingProducer, v: ReturnType<typeof ringViews>, seq: number, len: number): boolean {
  const off = p.reserve(len);
  if (off < 0) return false;
  v.u32[(off >>> 2) + 1] = seq;
  for (let k = 8; k < len; k++) v.bytes[off + k] = patternByte(seq, k);
  p.commit(len);
  return true;
}

describe("ring arithmetic", () => {
  it("rejects capacities that are not powers of two", () => {
    expect(() => createRing(100_000, 1)).toThrow(/power of two/);
    expect(() => createRing(1024, 1)).toThrow(/64 KiB/);
  });

  it("measures distance across the u32 wrap of the cursors", () => {
    expect(distance(0xfffffff0, 0x10)).toBe(0x20);
    expect(distance(5, 5)).toBe(0);
  });

  it("tells the consumer whether a record waits, without taking it", () => {
    const v = ringViews(createRing(CAP, 7));
    const p = new RingProducer(v);
    const c = new RingConsumer(v);
    expect(c.hasData()).toBe(false);
    expect(writeRecord(p, v, 0, 64)).toBe(true);
    expect([c.hasData(), c.hasData()]).toEqual([true, true]);
    expect(c.next()).toBeGreaterThanOrEqual(0);
    expect(c.hasData()).toBe(false);
  });

  it("keeps records contiguous: a record that would straddle the end starts at 0 after a skip marker", () => {
    const v = ringViews(createRing(CAP, 7));
    const p = new RingProducer(v);
    const c = new RingConsumer(v);
    // Fill to 100 bytes before the end, consuming as we go.
    let seq = 0;
    while (CAP - (Atomics.load(v.ctl, CTL_I32_WRITE) & (CAP - 1)) > 200) {
      expect(
        writeRecord(p, v, seq++, 1000 > CAP - (Atomics.load(v.ctl, CTL_I32_WRITE) & (CAP - 1)) - 200 ? 96 : 1000),
      ).toBe(true);
      const pos = c.next();
      c.release(c.end);
      expect(pos).toBeGreaterThanOrEqual(0);
    }
    expect(writeRecord(p, v, seq, 500)).toBe(true);
    const pos = c.next();
    expect(pos).toBe(0); // wrapped
    expect(v.u32[1]).toBe(seq);
  });

  it("refuses a record when the ring is full, without waiting, and accepts again after release", () => {
    const v = ringViews(createRing(CAP, 7));
    const p = new RingProducer(v);
    const c = new RingConsumer(v);
    let n = 0;
    while (writeRecord(p, v, n, 1024)) n++;
    expect(n).toBe(CAP / 1024);
    expect(p.reserve(8)).toBe(-1);
    expect(c.next()).toBe(0);
    c.release(c.end);
    expect(writeRecord(p, v, n, 1024)).toBe(true);
    expect(ringUsed(v)).toBe(CAP);
  });

  it("a new consumer resumes at the release cursor, not at the read position of the old one", () => {
    const v = ringViews(createRing(CAP, 7));
    const p = new RingProducer(v);
    for (let s = 0; s < 10; s++) writeRecord(p, v, s, 64);
    const first = new RingConsumer(v);
    for (let s = 0; s < 6; s++) first.next();
    first.release((4 * 64) >>> 0); // only 4 acked
    const second = new RingConsumer(v);
    const pos = second.next();
    expect(v.u32[(pos >>> 2) + 1]).toBe(4);
  });
});

describe("ring under a producer/consumer stress test across threads", () => {
  it("delivers every record byte-exact and in order across thousands of wraps", async () => {
    const total = 200_000;
    const sab = createRing(CAP, 3);
    const v = ringViews(sab);
    const p = new RingProducer(v);
    const results = new SharedArrayBuffer(64);
    const out = new Int32Array(results);
    const w = new Worker(new URL("../helpers/ring-check-worker.ts", import.meta.url), {
      workerData: { sab, total, results },
    });
    const exited = new Promise((r) => w.once("exit", r));
    let seq = 0;
    let refused = 0;
    let bytes = 0;
    while (seq < total) {
      const len = patternLength(seq, 8000);
      if (writeRecord(p, v, seq, len)) {
        bytes += len;
        seq++;
      } else {
        refused++; // full: the producer does not wait, it comes back later
        await new Promise((r) => setImmediate(r));
      }
    }
    const done = Atomics.waitAsync(out, STRESS.done, 0, 60_000);
    if (done.async) await done.value;
    await w.terminate();
    await exited;
    expect(out[STRESS.errors]).toBe(0);
    expect(out[STRESS.read]).toBe(total);
    expect(bytes / CAP).toBeGreaterThan(1000); // wrapped over a thousand times
    expect(refused).toBeGreaterThan(0); // the full-ring path was exercised
  }, 120_000);

  it("tracks the high-water mark of bytes in use, also across laps of a ring released as it goes", () => {
    const v = ringViews(createRing(CAP, 7));
    const p = new RingProducer(v);
    const c = new RingConsumer(v);
    for (let s = 0; s < 8; s++) writeRecord(p, v, s, 1000);
    c.noteHighWater();
    expect(v.counters[Counter.ringHighWater]).toBe(8 * 1000);
    while (c.next() >= 0) c.release(c.end);
    // 200 records of 256 bytes, each read and released at once: at most one in use at a time. (The
    // producer's own view, with a release cursor it refreshes only when the ring looks full, said 51,200.)
    v.counters[Counter.ringHighWater] = 0;
    for (let s = 0; s < 200; s++) {
      writeRecord(p, v, s, 256);
      c.noteHighWater();
      c.next();
      c.release(c.end);
    }
    expect(v.counters[Counter.ringHighWater]).toBe(256);
  });
});
