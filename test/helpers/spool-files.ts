// Builds real ring records and spool segment files for tests of the spool without a NATS server.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRing, recordLength, ringViews, type RingViews } from "../../src/ring/layout.ts";
import { EventCapture } from "../../src/capture.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import {
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  V1_SEGMENT_HEADER_BYTES,
  encodeSegmentHeader,
  frameBytes,
  writeFrame,
} from "../../workers/spool-format.ts";
import { align8 } from "../../src/ring/layout.ts";
import type { Encoding } from "../../src/record/format.ts";

export const TOOL_RESULT = 4; // index of "tool.result" in EVENT_TYPES

/** A ring holding `n` captured events with payload {i} (i from `first`), and a consumer at its start. */
export function filledRing(
  n: number,
  opts: { encoding?: Encoding; first?: number; capacity?: number; instance?: number } = {},
) {
  const views = ringViews(createRing(opts.capacity ?? 1 << 20, opts.instance ?? 7));
  const cap = new EventCapture(views, { encoding: opts.encoding ?? "json", maxPayloadBytes: 4096 });
  for (let k = 0; k < n; k++) {
    const r = cap.capture(TOOL_RESULT, "main", "agent:main:s", { i: (opts.first ?? 0) + k, pad: "x".repeat(40) });
    if (r !== "ok") throw new Error(`capture ${k}: ${r}`);
  }
  return { views, capture: cap, consumer: new RingConsumer(views) };
}

/** The records of a ring as [offset, length] pairs, in order. */
export function ringRecords(views: RingViews): [number, number][] {
  const c = new RingConsumer(views);
  const out: [number, number][] = [];
  for (let pos = c.next(); pos >= 0; pos = c.next()) out.push([pos, recordLength(views, pos)]);
  return out;
}

/** Writes a version-2 segment file holding the ring's records; returns the frame offsets. */
export function writeSegment(
  dir: string,
  name: string,
  views: RingViews,
  instance: number,
  encoding: Encoding = "json",
): number[] {
  const recs = ringRecords(views);
  const size = SEGMENT_HEADER_BYTES + recs.reduce((s, [, len]) => s + frameBytes(len), 0);
  const buf = Buffer.alloc(size);
  encodeSegmentHeader(instance, encoding, Date.now()).copy(buf, 0);
  const frames: number[] = [];
  let o = SEGMENT_HEADER_BYTES;
  for (const [pos, len] of recs) {
    frames.push(o);
    o = writeFrame(views.bytes, pos, len, buf, o);
  }
  writeFileSync(join(dir, name), buf);
  return frames;
}

/** Writes a 0.1.0 (version 1) segment: 16-byte segment header, bare 8-byte aligned records. */
export function writeV1Segment(dir: string, name: string, views: RingViews, instance: number): void {
  const recs = ringRecords(views);
  const parts: Buffer[] = [];
  const h = Buffer.alloc(V1_SEGMENT_HEADER_BYTES);
  h.writeUInt32LE(SEGMENT_MAGIC, 0);
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(instance >>> 0, 8);
  parts.push(h);
  for (const [pos, len] of recs) {
    const r = Buffer.alloc(align8(len));
    views.bytes.copy(r, 0, pos, pos + len);
    parts.push(r);
  }
  writeFileSync(join(dir, name), Buffer.concat(parts));
}
