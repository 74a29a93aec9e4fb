import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeAckMark,
  decodeSegmentHeader,
  encodeAckMark,
  encodeSegmentHeader,
  FRAME_PREFIX_BYTES,
  scanSegment,
  segmentBytes,
  sniffEncoding,
  type SegmentHeader,
} from "../../workers/spool-format.ts";
import { REC_OFF_TYPE } from "../../src/record/format.ts";
import { filledRing, writeSegment, writeV1Segment } from "../helpers/spool-files.ts";

const dir = mkdtempSync(join(tmpdir(), "spool-format-"));

function load(name: string) {
  const raw = readFileSync(join(dir, name));
  const header = decodeSegmentHeader(raw) as SegmentHeader;
  return { raw, header, src: segmentBytes(raw) };
}

describe("spool segment format", () => {
  it("round-trips the header, with the instance and the payload encoding", () => {
    const h = decodeSegmentHeader(encodeSegmentHeader(0xdeadbeef, "msgpack", 1));
    expect(h).toEqual({ version: 3, instance: 0xdeadbeef, encoding: "msgpack", dataStart: 32 });
    // Version 2 (the same layout, before UTF-16 payloads) is still read.
    const v2 = encodeSegmentHeader(0xdeadbeef, "json", 1);
    v2.writeUInt32LE(2, 4);
    v2.writeUInt32LE(crc32(v2.subarray(0, 28)), 28);
    expect(decodeSegmentHeader(v2)).toEqual({ version: 2, instance: 0xdeadbeef, encoding: "json", dataStart: 32 });
  });

  it("refuses files that are not segments, or whose header is damaged, with a reason", () => {
    expect(decodeSegmentHeader(Buffer.from("hello world, not a segment"))).toMatch(/bad magic/);
    const h = encodeSegmentHeader(1, "json", 1);
    h[12] = 1; // flip the encoding without fixing the checksum
    expect(decodeSegmentHeader(h)).toMatch(/checksum/);
    const v9 = encodeSegmentHeader(1, "json", 1);
    v9.writeUInt32LE(9, 4);
    expect(decodeSegmentHeader(v9)).toMatch(/version 9/);
  });

  it("reads every record of a sound segment", () => {
    const { views } = filledRing(100);
    writeSegment(dir, "sound.seg", views, 1);
    const { header, src } = load("sound.seg");
    const scan = scanSegment(src, header, header.dataStart);
    expect(scan.offsets.length).toBe(100);
    expect(scan.badRecords).toBe(0);
    expect(scan.badBytes).toBe(0);
    expect(scan.ends.at(-1)).toBe(src.bytes.length);
  });

  it("skips a damaged record in the middle and resumes at the next sound frame", () => {
    const { views } = filledRing(100);
    const frames = writeSegment(dir, "zeroed.seg", views, 1);
    const { header, src } = load("zeroed.seg");
    src.bytes.writeUInt32LE(0, frames[9] + FRAME_PREFIX_BYTES); // record 10's length word
    const scan = scanSegment(src, header, header.dataStart);
    expect(scan.offsets.length).toBe(99);
    expect(scan.badRecords).toBe(1);
    expect(scan.firstProblem).toMatch(/length/);
    expect(scan.offsets[9]).toBe(frames[10] + FRAME_PREFIX_BYTES);
  });

  it("resynchronises after a stretch of garbage, and checks each record's checksum", () => {
    const { views } = filledRing(50);
    const frames = writeSegment(dir, "garbage.seg", views, 1);
    const { header, src } = load("garbage.seg");
    src.bytes.fill(0xab, frames[20], frames[23] + 3); // records 20..22 and a bit of 23
    src.bytes[frames[40] + 60] ^= 0xff; // one payload byte of record 40
    const scan = scanSegment(src, header, header.dataStart);
    expect(scan.offsets.length).toBe(50 - 5);
    expect(scan.badRecords).toBe(2);
    expect(scan.badBytes).toBe(frames[24] - frames[20] + frames[41] - frames[40]);
  });

  it("never trusts a record's fields: an unknown event type or an absurd length is damage, not a crash", () => {
    const { views } = filledRing(3);
    const frames = writeSegment(dir, "fields.seg", views, 1);
    const { header, src } = load("fields.seg");
    src.bytes.writeUInt16LE(999, frames[0] + FRAME_PREFIX_BYTES + REC_OFF_TYPE);
    src.bytes.writeUInt32LE(0xfffffff0, frames[2] + FRAME_PREFIX_BYTES); // its length word
    const scan = scanSegment(src, header, header.dataStart);
    expect(scan.offsets).toEqual([frames[1] + FRAME_PREFIX_BYTES]);
    expect(scan.badRecords).toBe(2);
  });

  it("reads 0.1.0 (version 1) segments; their first bad record ends what can be read", () => {
    const { views } = filledRing(30);
    writeV1Segment(dir, "old.seg", views, 5);
    const { header, src } = load("old.seg");
    expect(header).toMatchObject({ version: 1, instance: 5, encoding: undefined, dataStart: 16 });
    const all = scanSegment(src, header, header.dataStart);
    expect(all.offsets.length).toBe(30);
    expect(sniffEncoding(src, all.offsets[0])).toBe("json");
    src.bytes.writeUInt16LE(500, all.offsets[12] + REC_OFF_TYPE);
    const cut = scanSegment(src, header, header.dataStart);
    expect(cut.offsets.length).toBe(12);
    expect(cut.badRecords).toBe(1);
  });

  it("tells MessagePack payloads from JSON in version-1 segments", () => {
    const { views } = filledRing(2, { encoding: "msgpack" });
    writeV1Segment(dir, "oldpack.seg", views, 5);
    const { header, src } = load("oldpack.seg");
    expect(sniffEncoding(src, scanSegment(src, header, header.dataStart).offsets[0])).toBe("msgpack");
  });

  it("keeps acked progress in a checked mark", () => {
    expect(decodeAckMark(encodeAckMark(123456))).toBe(123456);
    const m = encodeAckMark(64);
    m[4] ^= 1;
    expect(decodeAckMark(m)).toBeUndefined();
    expect(decodeAckMark(Buffer.alloc(0))).toBeUndefined();
  });
});
