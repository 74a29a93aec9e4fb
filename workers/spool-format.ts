// The byte format of a spool segment file, and the one place that decides whether its bytes can be
// trusted. A segment is input like any other: it may be cut short by a crash, damaged on disk, or
// not ours at all, so every record is checked before the publisher uses it.
//
// Version 3 (written since 0.2.0): version 2's layout; a JSON payload may be UTF-16 (FLAG_UTF16 in
// the record header, src/record/format.ts). The number changed so that a plugin that predates the
// flag sets such a file aside (unknown version) instead of publishing UTF-16 bytes as JSON.
// Version 2 (development builds before the flag):
//   segment header, 32 bytes: u32 SEGMENT_MAGIC | u32 version | u32 instance id | u8 encoding
//     (0 json, 1 msgpack) | 11 reserved | f64 created (epoch ms) | u32 crc32 of bytes 0..27 (at 28)
//   then frames, each 8-byte aligned: u32 FRAME_MAGIC | u32 crc32 of the record | the ring record
//     as it was in the ring (its first u32 is its length) | zero padding to 8 bytes
// A damaged frame is skipped and reading resumes at the next frame whose magic and checksum hold.
// Version 1 (0.1.0): a 16-byte segment header (magic, version, instance) and bare ring records, 8-byte
// aligned; nothing to resynchronise on, so the first bad record ends what can be read.
import { crc32 } from "node:zlib";
import { EVENT_TYPES } from "../src/event-types.ts";
import { align8, recordLength } from "../src/ring/layout.ts";
import {
  REC_HEADER_BYTES,
  recAgentLen,
  recPayloadLen,
  recPayloadStart,
  recSessionLen,
  recType,
} from "../src/record/format.ts";
import type { Encoding } from "../src/record/format.ts";

export const SEGMENT_MAGIC = 0x5345434f; // "OCES" little-endian
export const FRAME_MAGIC = 0x4d524346; // "FCRM" little-endian
export const SEGMENT_VERSION = 3;
export const SEGMENT_HEADER_BYTES = 32;
export const V1_SEGMENT_HEADER_BYTES = 16;
/** Frame magic + record checksum before each record. */
export const FRAME_PREFIX_BYTES = 8;
/** No record we write is larger (the config caps payloads at 8 MiB); larger lengths are damage. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024 + 64 * 1024;

const ENCODINGS: readonly Encoding[] = ["json", "msgpack"];

export type SegmentVersion = 1 | 2 | 3;

export interface SegmentHeader {
  version: SegmentVersion;
  instance: number;
  /** undefined for version 1, which did not record it (see sniffEncoding). */
  encoding: Encoding | undefined;
  /** Offset of the first record (v1) or frame (v2, v3). */
  dataStart: number;
}

export function encodeSegmentHeader(instance: number, encoding: Encoding, createdMs: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.writeUInt32LE(SEGMENT_MAGIC, 0);
  h.writeUInt32LE(SEGMENT_VERSION, 4);
  h.writeUInt32LE(instance >>> 0, 8);
  h.writeUInt8(ENCODINGS.indexOf(encoding), 12);
  h.writeDoubleLE(createdMs, 20);
  h.writeUInt32LE(crc32(h.subarray(0, 28)), 28);
  return h;
}

/** The segment's header, or a reason why the file is not a segment this code can read. */
export function decodeSegmentHeader(b: Uint8Array): SegmentHeader | string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < V1_SEGMENT_HEADER_BYTES || buf.readUInt32LE(0) !== SEGMENT_MAGIC)
    return "not a spool segment (bad magic)";
  const version = buf.readUInt32LE(4);
  if (version === 1)
    return { version: 1, instance: buf.readUInt32LE(8), encoding: undefined, dataStart: V1_SEGMENT_HEADER_BYTES };
  if (version !== 2 && version !== 3) return `unknown spool segment version ${version}`;
  if (buf.length < SEGMENT_HEADER_BYTES || buf.readUInt32LE(28) !== crc32(buf.subarray(0, 28))) {
    return "damaged segment header (checksum)";
  }
  const encoding = ENCODINGS[buf.readUInt8(12)];
  if (encoding === undefined) return `unknown payload encoding ${buf.readUInt8(12)}`;
  return { version, instance: buf.readUInt32LE(8), encoding, dataStart: SEGMENT_HEADER_BYTES };
}

/** Bytes a record of `len` bytes takes in a v2 segment. */
export function frameBytes(len: number): number {
  return FRAME_PREFIX_BYTES + align8(len);
}

/** Writes the frame for the record src[start, start+len) at out[o]; returns the offset after it. */
export function writeFrame(src: Uint8Array, start: number, len: number, out: Buffer, o: number): number {
  const rec = src.subarray(start, start + len);
  out.writeUInt32LE(FRAME_MAGIC, o);
  out.writeUInt32LE(crc32(rec), o + 4);
  out.set(rec, o + FRAME_PREFIX_BYTES);
  const end = o + frameBytes(len);
  out.fill(0, o + FRAME_PREFIX_BYTES + len, end);
  return end;
}

/** Where a segment's records are read from: the file's bytes with typed views, 8-byte aligned. */
export interface SegmentBytes {
  bytes: Buffer;
  u16: Uint16Array;
  u32: Uint32Array;
  f64: Float64Array;
}

export function segmentBytes(raw: Uint8Array): SegmentBytes {
  // A fresh buffer: readFileSync's may not be 8-byte aligned, and the f64 view needs that.
  const ab = new ArrayBuffer(align8(raw.length));
  const bytes = Buffer.from(ab, 0, raw.length);
  bytes.set(raw);
  return { bytes, u16: new Uint16Array(ab), u32: new Uint32Array(ab), f64: new Float64Array(ab) };
}

/**
 * Why the ring record at `pos` (its length word first) cannot be used, or undefined when its fields
 * are consistent: a known event type, and agent, session and payload inside the record.
 */
export function recordProblem(s: SegmentBytes, pos: number, limit: number): string | undefined {
  if (pos % 8 !== 0 || pos + REC_HEADER_BYTES > limit) return "truncated record";
  const len = recordLength(s, pos);
  if (len < REC_HEADER_BYTES || len > MAX_RECORD_BYTES || pos + len > limit) return `bad record length ${len}`;
  if (recType(s, pos) >= EVENT_TYPES.length) return `unknown event type ${recType(s, pos)}`;
  const fields = recAgentLen(s, pos) + recSessionLen(s, pos) + recPayloadLen(s, pos);
  if (REC_HEADER_BYTES + fields > len) return "record fields overrun its length";
  return undefined;
}

/**
 * Finds the usable records of a segment, a batch at a time (checking a whole 16 MiB segment at once
 * held the worker's event loop for ~100 ms), from `from`: a record boundary, the data start or
 * a saved acked offset. A final record cut short by a crash mid-write counts as bad bytes, like damage.
 */
export class SegmentScanner {
  /** Offsets of usable records (each starts with its length word), in file order. */
  readonly offsets: number[] = [];
  /** Offset just past each usable record's frame (v2) or record (v1): where reading goes on. */
  readonly ends: number[] = [];
  /** Damaged stretches (v2) or the bad record that ended reading (v1). */
  badRecords = 0;
  /** Bytes that belong to no usable record. */
  badBytes = 0;
  /** The first problem seen, for the log line. */
  firstProblem: string | undefined;
  /** True once the whole file has been read. */
  done = false;
  private readonly s: SegmentBytes;
  private readonly version: SegmentVersion;
  private o: number;
  private skipping = false;

  constructor(s: SegmentBytes, header: SegmentHeader, from: number) {
    this.s = s;
    this.version = header.version;
    this.o = from;
  }

  /** Finds up to `max` more usable records (fewer at the end of the file). */
  more(max: number): void {
    const s = this.s;
    const size = s.bytes.length;
    const stop = this.offsets.length + max;
    while (!this.done && this.offsets.length < stop) {
      const o = this.o;
      if (this.version === 1) {
        if (o + 8 > size) {
          this.finish(size);
          break;
        }
        const why = recordProblem(s, o, size);
        if (why !== undefined) {
          this.bad(why);
          this.o = size;
          this.badBytes += size - o;
          this.finish(size);
          break;
        }
        this.offsets.push(o);
        this.o = o + align8(recordLength(s, o));
        this.ends.push(this.o);
        continue;
      }
      if (o + FRAME_PREFIX_BYTES > size) {
        this.badBytes += size - Math.min(o, size);
        this.finish(size);
        break;
      }
      const why = frameProblem(s, o, size);
      if (why === undefined) {
        this.offsets.push(o + FRAME_PREFIX_BYTES);
        this.o = o + frameBytes(recordLength(s, o + FRAME_PREFIX_BYTES));
        this.ends.push(this.o);
        this.skipping = false;
        continue;
      }
      // Count one bad record per damaged stretch, then look for the next sound frame.
      if (!this.skipping) this.bad(why);
      this.skipping = true;
      this.badBytes += 8;
      this.o = o + 8;
    }
  }

  private bad(why: string): void {
    this.badRecords++;
    this.firstProblem ??= why;
  }

  private finish(size: number): void {
    this.o = size;
    this.done = true;
  }
}

/** Scans a whole segment at once (tests, tools). */
export function scanSegment(s: SegmentBytes, header: SegmentHeader, from: number): SegmentScanner {
  const scan = new SegmentScanner(s, header, from);
  scan.more(Number.POSITIVE_INFINITY);
  return scan;
}

function frameProblem(s: SegmentBytes, o: number, size: number): string | undefined {
  if (s.u32[o >>> 2] !== FRAME_MAGIC) return "bad frame marker";
  const rec = o + FRAME_PREFIX_BYTES;
  const why = recordProblem(s, rec, size);
  if (why !== undefined) return why;
  const len = recordLength(s, rec);
  if (crc32(s.bytes.subarray(rec, rec + len)) !== s.u32[(o + 4) >>> 2]) return "checksum mismatch";
  return undefined;
}

/**
 * The payload encoding of a version-1 segment, which did not record it: a JSON payload (always an
 * object) starts with "{", a MessagePack one with a map marker.
 */
export function sniffEncoding(s: SegmentBytes, recordPos: number): Encoding {
  return s.bytes[recPayloadStart(s, recordPos)] === 0x7b ? "json" : "msgpack";
}

// The acked-progress mark kept beside a segment while it is replayed (`<segment>.ack`): the offset
// from which a later replay must resume, so a stop or crash mid-replay does not re-send what
// JetStream already stored. 16 bytes: u32 ACK_MAGIC | u32 offset | u32 crc32 of bytes 0..7 | 0.
const ACK_MAGIC = 0x4b434143; // "CACK"
export const ACK_MARK_BYTES = 16;

export function encodeAckMark(offset: number): Buffer {
  const b = Buffer.alloc(ACK_MARK_BYTES);
  b.writeUInt32LE(ACK_MAGIC, 0);
  b.writeUInt32LE(offset >>> 0, 4);
  b.writeUInt32LE(crc32(b.subarray(0, 8)), 8);
  return b;
}

/** The saved offset, or undefined when the mark is missing or damaged (replay from the start). */
export function decodeAckMark(b: Uint8Array): number | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length !== ACK_MARK_BYTES || buf.readUInt32LE(0) !== ACK_MAGIC) return undefined;
  if (buf.readUInt32LE(8) !== crc32(buf.subarray(0, 8))) return undefined;
  return buf.readUInt32LE(4);
}
