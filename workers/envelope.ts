// Builds the published message from a ring record: the seed's envelope
// {id, ts, agent, session, type, payload} and the Nats-Msg-Id header, spliced around the payload
// bytes that the host already encoded. Nothing is parsed or re-encoded here.
import { transcode } from "node:buffer";
import type { RingViews } from "../src/ring/layout.ts";
import {
  FLAG_LABEL_AGENT,
  FLAG_UTF16,
  REC_AGENT_LEN,
  REC_FLAGS,
  REC_HEADER,
  REC_PAYLOAD_LEN,
  REC_SEQ,
  REC_SESSION_LEN,
  REC_TS,
  REC_TYPE,
} from "../src/record/format.ts";
import { EVENT_TYPES } from "../src/event-types.ts";
import { subjectFor } from "../src/subject.ts";
import type { Encoding } from "../src/config.ts";
import type { Redactor } from "./redact.ts";

const ascii = (s: string) => Buffer.from(s, "latin1");
const HEX = ascii("0123456789abcdef");
const ARENA_CHUNK = 256 * 1024;
const MAX_CACHED_AGENTS = 10_000;

/**
 * Output buffers are handed to the NATS client, which keeps references until it flushes them;
 * so each message gets fresh bytes carved from a chunk that is never reused (old chunks are
 * garbage once flushed).
 */
class Arena {
  /** The chunk as a Buffer (for native copies) and as a plain Uint8Array (cheaper subarrays). */
  buf = Buffer.allocUnsafeSlow(ARENA_CHUNK);
  u8 = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private pos = 0;
  /** Offset of `n` free bytes in `buf`. */
  take(n: number): number {
    if (this.pos + n > this.buf.length) {
      this.buf = Buffer.allocUnsafeSlow(Math.max(ARENA_CHUNK, n));
      this.u8 = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
      this.pos = 0;
    }
    const off = this.pos;
    this.pos = (off + n + 7) & ~7;
    return off;
  }
}

/** The deterministic message id: a UUIDv7 from the record's ts, the process instance and the sequence. */
export function writeUuid(out: Uint8Array, o: number, ts: number, instance: number, seq: number): number {
  const tsHi = Math.floor(ts / 65536) >>> 0;
  const tsLo = ts % 65536;
  const seqHi = Math.floor(seq / 4294967296) & 0x3ff;
  const b1 = (0x80000000 | ((instance & 0xfffff) << 10) | seqHi) >>> 0;
  o = hex(out, o, tsHi, 8);
  out[o++] = 45; // -
  o = hex(out, o, tsLo, 4);
  out[o++] = 45;
  o = hex(out, o, 0x7000 | ((instance >>> 20) & 0xfff), 4);
  out[o++] = 45;
  o = hex(out, o, b1 >>> 16, 4);
  out[o++] = 45;
  o = hex(out, o, b1 & 0xffff, 4);
  return hex(out, o, seq >>> 0, 8);
}

function hex(out: Uint8Array, o: number, v: number, digits: number): number {
  for (let i = digits - 1; i >= 0; i--) {
    out[o + i] = HEX[v & 15];
    v >>>= 4;
  }
  return o + digits;
}

/** True when UTF-8 bytes can go between JSON quotes as they are. */
function jsonSafe(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c < 0x20 || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

export interface BuiltMessage {
  subject: string;
  headers: Uint8Array;
  body: Uint8Array;
  seq: number;
}

/** Where records are read from: the ring, or a spool segment loaded from disk. */
export type RecordSource = Pick<RingViews, "bytes" | "u16" | "u32" | "f64">;

/**
 * The UTF-8 of a payload the host wrote as UTF-16LE (FLAG_UTF16: two-byte JSON text, see
 * src/capture.ts), converted here, off the host's thread. buffer.transcode refuses lone
 * surrogates, which JSON.stringify never leaves; a damaged spool record could hold one, and then
 * the slower way replaces it with U+FFFD.
 */
function utf8Of(b: Buffer, start: number, end: number): Buffer {
  try {
    return transcode(b.subarray(start, end), "utf16le", "utf8");
  } catch {
    return Buffer.from(b.toString("utf16le", start, end), "utf8");
  }
}

export class EnvelopeBuilder {
  private readonly v: RingViews;
  private readonly json: boolean;
  private readonly instance: number;
  private readonly prefix: string;
  private readonly arena = new Arena();
  private readonly subjects = new Map<string, string[]>();
  private readonly hdrStart: Buffer;
  private readonly typeParts: Buffer[];
  /** Reused result object: valid until the next build(). */
  readonly out: BuiltMessage = { subject: "", headers: new Uint8Array(0), body: new Uint8Array(0), seq: 0 };

  /** Replaces secrets in each payload (workers/redact.ts); without one, payloads go out as captured. */
  private readonly redactor: Redactor | undefined;

  constructor(views: RingViews, encoding: Encoding, instance: number, subjectPrefix: string, redactor?: Redactor) {
    this.v = views;
    this.redactor = redactor;
    this.json = encoding === "json";
    this.instance = instance;
    this.prefix = subjectPrefix;
    this.hdrStart = ascii(
      this.json ? "NATS/1.0\r\nNats-Msg-Id: " : "NATS/1.0\r\nContent-Type: application/msgpack\r\nNats-Msg-Id: ",
    );
    // The bytes between the session and the payload depend only on the type: precompute them.
    this.typeParts = EVENT_TYPES.map((t) =>
      this.json
        ? ascii(`,"type":${JSON.stringify(t)},"payload":`)
        : Buffer.concat([msgpackStr("type"), msgpackStr(t), msgpackStr("payload")]),
    );
  }

  /**
   * Builds the message for the record at offset `pos` of `src` (the ring by default) into
   * `this.out`. Spooled records keep the instance id of the process that captured them.
   */
  build(pos: number, src: RecordSource = this.v, instance = this.instance): BuiltMessage {
    const v = src;
    const h16 = pos >>> 1;
    const h64 = pos >>> 3;
    const type = v.u16[h16 + (REC_TYPE >>> 1)];
    const ts = v.f64[h64 + (REC_TS >>> 3)];
    const seq = v.f64[h64 + (REC_SEQ >>> 3)];
    const agentLen = v.u16[h16 + (REC_AGENT_LEN >>> 1)];
    const sessionLen = v.u16[h16 + (REC_SESSION_LEN >>> 1)];
    const payloadLen = v.u32[(pos + REC_PAYLOAD_LEN) >>> 2];
    const a0 = pos + REC_HEADER;
    const s0 = a0 + agentLen;
    const p0 = s0 + sessionLen;
    const ring = v.bytes;
    let bytes = ring;
    let pay0 = p0;
    let payLen = payloadLen;
    if ((v.u16[h16 + (REC_FLAGS >>> 1)] & FLAG_UTF16) !== 0) {
      bytes = utf8Of(ring, p0, p0 + payloadLen);
      [pay0, payLen] = [0, bytes.length];
    }
    let payload: Uint8Array = bytes;
    const redacted = this.redactor?.payload(bytes, pay0, pay0 + payLen, this.json, instance, seq);
    if (redacted !== undefined) [payload, pay0, payLen] = [redacted, 0, redacted.length];
    const out = this.out;
    out.seq = seq;
    out.subject = this.subject(ring, a0, s0, type, (v.u16[h16 + (REC_FLAGS >>> 1)] & FLAG_LABEL_AGENT) !== 0);

    // Header block: NATS/1.0, [Content-Type], Nats-Msg-Id: <uuid>, blank line.
    const typePart = this.typeParts[type];
    const hdrLen = this.hdrStart.length + 36 + 4;
    if (this.json) {
      const agentRaw = jsonSafe(ring, a0, s0);
      const sessionRaw = jsonSafe(ring, s0, p0);
      const agentJson = agentRaw ? null : Buffer.from(JSON.stringify(ring.toString("utf8", a0, s0)));
      const sessionJson = sessionRaw ? null : Buffer.from(JSON.stringify(ring.toString("utf8", s0, p0)));
      const size =
        hdrLen +
        8 +
        36 +
        7 +
        16 +
        10 +
        (agentJson ? agentJson.length : agentLen + 2) +
        11 +
        (sessionJson ? sessionJson.length : sessionLen + 2) +
        typePart.length +
        payLen +
        1;
      const off = this.arena.take(size);
      const buf = this.arena.buf;
      let o = this.header(buf, off, ts, seq, instance);
      const bodyStart = o;
      o = put(buf, o, '{"id":"');
      o = copy(buf, off + this.hdrStart.length, off + this.hdrStart.length + 36, buf, o); // the id in the header
      o = put(buf, o, '","ts":');
      o = this.decimal(buf, o, ts);
      o = put(buf, o, ',"agent":');
      o = agentJson ? copy(agentJson, 0, agentJson.length, buf, o) : quoted(ring, a0, s0, buf, o);
      o = put(buf, o, ',"session":');
      o = sessionJson ? copy(sessionJson, 0, sessionJson.length, buf, o) : quoted(ring, s0, p0, buf, o);
      o = copy(typePart, 0, typePart.length, buf, o);
      o = copy(payload, pay0, pay0 + payLen, buf, o);
      buf[o++] = 0x7d; // }
      out.headers = this.arena.u8.subarray(off, bodyStart);
      out.body = this.arena.u8.subarray(bodyStart, o);
      return out;
    }
    // MessagePack: a 6-entry map whose last value is the payload the host packed.
    const size = hdrLen + 1 + 3 + 2 + 36 + 3 + 9 + 6 + 3 + agentLen + 8 + 5 + sessionLen + typePart.length + payLen;
    const off = this.arena.take(size);
    const buf = this.arena.buf;
    let o = this.header(buf, off, ts, seq, instance);
    const bodyStart = o;
    buf[o++] = 0x86;
    o = putStr(buf, o, "id");
    buf[o++] = 0xd9;
    buf[o++] = 36;
    o = writeUuid(buf, o, ts, instance, seq);
    o = putStr(buf, o, "ts");
    buf[o++] = 0xcb; // float64: every MessagePack reader returns a plain number
    buf.writeDoubleBE(ts, o);
    o += 8;
    o = putStr(buf, o, "agent");
    o = strHeader(buf, o, agentLen);
    o = copy(ring, a0, s0, buf, o);
    o = putStr(buf, o, "session");
    o = strHeader(buf, o, sessionLen);
    o = copy(ring, s0, p0, buf, o);
    o = copy(typePart, 0, typePart.length, buf, o);
    o = copy(payload, pay0, pay0 + payLen, buf, o);
    out.headers = this.arena.u8.subarray(off, bodyStart);
    out.body = this.arena.u8.subarray(bodyStart, o);
    return out;
  }

  private header(buf: Buffer, o: number, ts: number, seq: number, instance: number): number {
    o = copy(this.hdrStart, 0, this.hdrStart.length, buf, o);
    o = writeUuid(buf, o, ts, instance, seq);
    buf[o++] = 13;
    buf[o++] = 10;
    buf[o++] = 13;
    buf[o++] = 10;
    return o;
  }

  /** Decimal digits of `ts`; consecutive records mostly share their millisecond. */
  private decimal(buf: Uint8Array, o: number, ts: number): number {
    if (ts !== this.lastTs) {
      this.lastTs = ts;
      this.lastTsText = ascii(String(ts));
    }
    return copy(this.lastTsText, 0, this.lastTsText.length, buf, o);
  }
  private lastTs = -1;
  private lastTsText = ascii("");

  /**
   * The subject for the agent bytes at ring[a0, a1) and `type` (`label`: the agent is the plugin's
   * label, see src/subject.ts). Consecutive records mostly come from the same agent: comparing
   * its bytes with the previous record's avoids decoding a string.
   */
  private subject(ring: Buffer, a0: number, a1: number, type: number, label: boolean): string {
    const last = this.lastAgent;
    let same = this.lastByType.length > 0 && last.length === a1 - a0 && this.lastLabel === label;
    for (let i = 0; same && i < last.length; i++) same = last[i] === ring[a0 + i];
    if (!same) {
      const agent = ring.toString("utf8", a0, a1);
      this.lastAgent = Uint8Array.prototype.slice.call(ring, a0, a1);
      this.lastLabel = label;
      const key = label ? `\u0000${agent}` : agent;
      let byType = this.subjects.get(key);
      if (byType === undefined) {
        if (this.subjects.size >= MAX_CACHED_AGENTS) this.subjects.clear();
        byType = EVENT_TYPES.map((t) => subjectFor(this.prefix, agent, t, label));
        this.subjects.set(key, byType);
      }
      this.lastByType = byType;
    }
    return this.lastByType[type];
  }
  private lastAgent = new Uint8Array(0);
  private lastLabel = false;
  private lastByType: string[] = [];
}

/**
 * Copies src[start, end) to dst at o and returns the new offset. A byte loop for short ranges:
 * Buffer#copy checks its arguments and builds a view per call, which costs more than it copies.
 */
function copy(src: Uint8Array, start: number, end: number, dst: Uint8Array, o: number): number {
  const n = end - start;
  if (n > 64) dst.set(src.subarray(start, end), o);
  else for (let i = 0; i < n; i++) dst[o + i] = src[start + i];
  return o + n;
}

function put(buf: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[o + i] = s.charCodeAt(i);
  return o + s.length;
}

function quoted(src: Uint8Array, start: number, end: number, buf: Uint8Array, o: number): number {
  buf[o++] = 0x22;
  o = copy(src, start, end, buf, o);
  buf[o++] = 0x22;
  return o;
}

function strHeader(buf: Buffer, o: number, len: number): number {
  if (len < 32) buf[o++] = 0xa0 | len;
  else if (len < 256) {
    buf[o++] = 0xd9;
    buf[o++] = len;
  } else {
    buf[o++] = 0xda;
    buf[o++] = len >>> 8;
    buf[o++] = len & 0xff;
  }
  return o;
}

function putStr(buf: Buffer, o: number, s: string): number {
  return put(buf, strHeader(buf, o, s.length), s);
}

function msgpackStr(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const h = Buffer.alloc(3);
  return Buffer.concat([h.subarray(0, strHeader(h, 0, b.length)), b]);
}
