// Builds the published message from a ring record: the seed's envelope
// {id, ts, agent, session, type, payload} and its NATS headers (Nats-Msg-Id, and Content-Type for
// MessagePack), spliced around the payload bytes that the host already encoded. Nothing is parsed
// or re-encoded here. Each message's size is the sum of the lengths of the very pieces written, so
// a piece cannot outgrow the bytes taken for it.
import { transcode } from "node:buffer";
import type { RingViews } from "../src/ring/layout.ts";
import {
  FLAG_LABEL_AGENT,
  FLAG_UTF16,
  REC_HEADER_BYTES,
  recAgentLen,
  recFlags,
  recPayloadLen,
  recSeq,
  recSessionLen,
  recTs,
  recType,
} from "../src/record/format.ts";
import { EVENT_TYPES } from "../src/event-types.ts";
import { subjectFor } from "../src/subject.ts";
import type { Encoding, RecordSource } from "../src/record/format.ts";
import type { Redactor } from "./redact.ts";

const ascii = (s: string) => Buffer.from(s, "latin1");
const HEX = ascii("0123456789abcdef");
const ARENA_CHUNK = 256 * 1024;
/** Characters of the id (a UUID in its 8-4-4-4-12 text form). */
const UUID_CHARS = 36;
/** Ends the NATS header block: the last header's line end and the blank line. */
const NATS_HDR_END = ascii("\r\n\r\n");
// The JSON envelope's pieces around its values, in order:
// {"id":"<uuid>","ts":<ts>,"agent":<str>,"session":<str>  then the type's piece, the payload, }
const J_ID = '{"id":"';
const J_TS = '","ts":';
const J_AGENT = ',"agent":';
const J_SESSION = ',"session":';
const J_END = 0x7d; // }
const QUOTES = 2;
// The MessagePack envelope: a 6-entry map, its keys, the id as a str 8 and ts as a float 64 (every
// MessagePack reader returns a plain number); the type's piece holds the last two keys.
const M_MAP6 = 0x86;
const M_ID = msgpackStr("id");
const M_TS = msgpackStr("ts");
const M_AGENT = msgpackStr("agent");
const M_SESSION = msgpackStr("session");
const M_STR8 = 0xd9;
const M_F64 = 0xcb;
const M_F64_BYTES = 9;
const MAX_CACHED_AGENTS = 10_000;

/**
 * Output buffers are handed to the NATS client, which keeps references until the socket has
 * written them; so each message gets fresh bytes carved from a chunk that is never reused (old
 * chunks are garbage once written). Messages follow each other without a gap: frames built one
 * after another form one contiguous run that the publisher hands over in one piece.
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
    this.pos = off + n;
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

const EMPTY = new Uint8Array(0);
const HPUB = "HPUB ";
const CRLF = 2;

/**
 * A message built by EnvelopeBuilder: ranges of one arena chunk, valid until the next build. Built
 * as a frame, it starts with its HPUB protocol line and ends with CRLF: ready for the wire.
 */
export class BuiltMessage {
  subject = "";
  seq = 0;
  buf: Uint8Array = EMPTY;
  /** [frameStart, headersStart) the protocol line (empty unless built as a frame), then the NATS header block. */
  frameStart = 0;
  headersStart = 0;
  /** [bodyStart, bodyEnd) the envelope; `end` is past the frame's final CRLF (= bodyEnd otherwise). */
  bodyStart = 0;
  bodyEnd = 0;
  end = 0;
  get headers(): Uint8Array {
    return this.buf.subarray(this.headersStart, this.bodyStart);
  }
  get body(): Uint8Array {
    return this.buf.subarray(this.bodyStart, this.bodyEnd);
  }
  get frame(): Uint8Array {
    return this.buf.subarray(this.frameStart, this.end);
  }
  /** What the server counts against its max_payload: the NATS headers and the envelope. */
  get payloadBytes(): number {
    return this.bodyEnd - this.headersStart;
  }
}

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
  private readonly subjects = new Map<string, Subjects>();
  /** The NATS header block up to the id: NATS/1.0, [Content-Type], "Nats-Msg-Id: ". */
  private readonly natsHdrStart: Buffer;
  /** Bytes of the whole NATS header block. */
  private readonly natsHdrBytes: number;
  private readonly typeParts: Buffer[];
  /** Reused result object: valid until the next build. */
  readonly out = new BuiltMessage();

  /** Replaces secrets in each payload (workers/redact.ts); without one, payloads go out as captured. */
  private readonly redactor: Redactor | undefined;

  constructor(views: RingViews, encoding: Encoding, instance: number, subjectPrefix: string, redactor?: Redactor) {
    this.v = views;
    this.redactor = redactor;
    this.json = encoding === "json";
    this.instance = instance;
    this.prefix = subjectPrefix;
    this.natsHdrStart = ascii(
      this.json ? "NATS/1.0\r\nNats-Msg-Id: " : "NATS/1.0\r\nContent-Type: application/msgpack\r\nNats-Msg-Id: ",
    );
    this.natsHdrBytes = this.natsHdrStart.length + UUID_CHARS + NATS_HDR_END.length;
    // The bytes between the session and the payload depend only on the type: precompute them.
    this.typeParts = EVENT_TYPES.map((t) =>
      this.json
        ? ascii(`,"type":${JSON.stringify(t)},"payload":`)
        : Buffer.concat([msgpackStr("type"), msgpackStr(t), msgpackStr("payload")]),
    );
  }

  /**
   * Builds the message for the record at offset `pos` of `src` (the ring by default) into
   * `this.out`: NATS headers and envelope. Spooled records keep the instance id of the process
   * that captured them.
   */
  build(pos: number, src: RecordSource = this.v, instance = this.instance): BuiltMessage {
    return this.make(pos, src, instance, EMPTY, -1);
  }

  /**
   * The same as a whole HPUB frame, `HPUB <subject> <reply> <header bytes> <total bytes>` CRLF,
   * headers, envelope, CRLF, where the reply subject is `replyPrefix` followed by `token`.
   */
  buildFrame(pos: number, src: RecordSource, instance: number, replyPrefix: Uint8Array, token: number): BuiltMessage {
    return this.make(pos, src, instance, replyPrefix, token);
  }

  private make(pos: number, src: RecordSource, instance: number, reply: Uint8Array, token: number): BuiltMessage {
    const bytes = src.bytes;
    const ts = recTs(src, pos);
    const seq = recSeq(src, pos);
    const a0 = pos + REC_HEADER_BYTES;
    const s0 = a0 + recAgentLen(src, pos);
    const p0 = s0 + recSessionLen(src, pos);
    const p1 = p0 + recPayloadLen(src, pos);
    const type = recType(src, pos);
    const out = this.out;
    out.seq = seq;
    const flags = recFlags(src, pos);
    const subjects = this.subjectsOf(bytes, a0, s0, (flags & FLAG_LABEL_AGENT) !== 0);
    out.subject = subjects.text[type];
    // The payload's UTF-8: in the record, or converted from the UTF-16 the host wrote (FLAG_UTF16).
    const utf16 = (flags & FLAG_UTF16) !== 0;
    const body = utf16 ? utf8Of(bytes, p0, p1) : bytes;
    const b0 = utf16 ? 0 : p0;
    const b1 = utf16 ? body.length : p1;
    const redacted = this.redactor?.payload(body, b0, b1, this.json, instance, seq);
    const payload = redacted ?? body;
    const pay0 = redacted === undefined ? b0 : 0;
    const pay1 = redacted === undefined ? b1 : redacted.length;
    const frame = token >= 0 ? subjects.bytes[type] : undefined;
    this.write(bytes, a0, s0, p0, ts, seq, instance, type, payload, pay0, pay1, frame, reply, token);
    return out;
  }

  /**
   * Writes the message: the protocol line (frames), the NATS headers, then the envelope, whose id, ts,
   * agent and session come first and the type's piece and the payload last, in either encoding.
   * JSON: agent and session go between quotes as they are unless JSON needs them escaped, and a
   * closing brace ends it. MessagePack: a 6-entry map whose last value is the payload the host packed.
   * One method for both, so the record's pieces are passed and the shared steps written once.
   */
  private write(
    rec: Buffer,
    a0: number,
    s0: number,
    p0: number,
    ts: number,
    seq: number,
    instance: number,
    type: number,
    payload: Uint8Array,
    pay0: number,
    pay1: number,
    subject: Uint8Array | undefined,
    reply: Uint8Array,
    token: number,
  ): void {
    const json = this.json;
    const typePart = this.typeParts[type];
    let agentJson: Buffer | null = null;
    let sessionJson: Buffer | null = null;
    let tsText: string | undefined;
    let bodyBytes = typePart.length + (pay1 - pay0);
    if (json) {
      agentJson = jsonSafe(rec, a0, s0) ? null : Buffer.from(JSON.stringify(rec.toString("utf8", a0, s0)));
      sessionJson = jsonSafe(rec, s0, p0) ? null : Buffer.from(JSON.stringify(rec.toString("utf8", s0, p0)));
      tsText = decimalText(ts);
      bodyBytes +=
        J_ID.length +
        UUID_CHARS +
        J_TS.length +
        (tsText === undefined ? digits(ts) : tsText.length) +
        J_AGENT.length +
        (agentJson ? agentJson.length : s0 - a0 + QUOTES) +
        J_SESSION.length +
        (sessionJson ? sessionJson.length : p0 - s0 + QUOTES) +
        1; // J_END
    } else {
      bodyBytes +=
        1 + // M_MAP6
        M_ID.length +
        strHeaderBytes(UUID_CHARS) +
        UUID_CHARS +
        M_TS.length +
        M_F64_BYTES +
        M_AGENT.length +
        strHeaderBytes(s0 - a0) +
        (s0 - a0) +
        M_SESSION.length +
        strHeaderBytes(p0 - s0) +
        (p0 - s0);
    }
    let o = this.begin(bodyBytes, ts, seq, instance, subject, reply, token);
    const buf = this.arena.buf;
    if (json) {
      o = put(buf, o, J_ID);
      const id = this.out.headersStart + this.natsHdrStart.length; // the id written in the NATS headers
      o = copy(buf, id, id + UUID_CHARS, buf, o);
      o = put(buf, o, J_TS);
      o = tsText === undefined ? writeDigits(buf, o, ts) : put(buf, o, tsText);
      o = put(buf, o, J_AGENT);
      o = agentJson ? copy(agentJson, 0, agentJson.length, buf, o) : quoted(rec, a0, s0, buf, o);
      o = put(buf, o, J_SESSION);
      o = sessionJson ? copy(sessionJson, 0, sessionJson.length, buf, o) : quoted(rec, s0, p0, buf, o);
    } else {
      buf[o++] = M_MAP6;
      o = copy(M_ID, 0, M_ID.length, buf, o);
      buf[o++] = M_STR8;
      buf[o++] = UUID_CHARS;
      o = writeUuid(buf, o, ts, instance, seq);
      o = copy(M_TS, 0, M_TS.length, buf, o);
      buf[o++] = M_F64;
      buf.writeDoubleBE(ts, o);
      o += M_F64_BYTES - 1;
      o = copy(M_AGENT, 0, M_AGENT.length, buf, o);
      o = strHeader(buf, o, s0 - a0);
      o = copy(rec, a0, s0, buf, o);
      o = copy(M_SESSION, 0, M_SESSION.length, buf, o);
      o = strHeader(buf, o, p0 - s0);
      o = copy(rec, s0, p0, buf, o);
    }
    o = copy(typePart, 0, typePart.length, buf, o);
    o = copy(payload, pay0, pay1, buf, o);
    if (json) buf[o++] = J_END;
    this.finish(o, subject !== undefined);
  }

  /**
   * Takes the bytes of a message whose envelope has `bodyBytes` bytes and writes what comes before
   * the envelope: the protocol line (frames: with `subject`), then the NATS header block. Returns
   * where the envelope starts.
   */
  private begin(
    bodyBytes: number,
    ts: number,
    seq: number,
    instance: number,
    subject: Uint8Array | undefined,
    reply: Uint8Array,
    token: number,
  ): number {
    const hdr = this.natsHdrBytes;
    const total = hdr + bodyBytes;
    const line =
      subject === undefined
        ? 0
        : HPUB.length + subject.length + 1 + reply.length + digits(token) + 1 + digits(hdr) + 1 + digits(total) + CRLF;
    const off = this.arena.take(line + total + (subject === undefined ? 0 : CRLF));
    const buf = this.arena.buf;
    let o = off;
    if (subject !== undefined) {
      o = put(buf, o, HPUB);
      o = copy(subject, 0, subject.length, buf, o);
      buf[o++] = 0x20;
      o = copy(reply, 0, reply.length, buf, o);
      o = writeDigits(buf, o, token);
      buf[o++] = 0x20;
      o = writeDigits(buf, o, hdr);
      buf[o++] = 0x20;
      o = writeDigits(buf, o, total);
      buf[o++] = 13;
      buf[o++] = 10;
    }
    const out = this.out;
    out.buf = this.arena.u8;
    out.frameStart = off;
    out.headersStart = o;
    o = this.natsHeaders(buf, o, ts, seq, instance);
    out.bodyStart = o;
    return o;
  }

  private finish(o: number, frame: boolean): void {
    const out = this.out;
    out.bodyEnd = o;
    if (frame) {
      this.arena.buf[o++] = 13;
      this.arena.buf[o++] = 10;
    }
    out.end = o;
  }

  /** The NATS header block: NATS/1.0, [Content-Type], Nats-Msg-Id: <uuid>, blank line. */
  private natsHeaders(buf: Buffer, o: number, ts: number, seq: number, instance: number): number {
    o = copy(this.natsHdrStart, 0, this.natsHdrStart.length, buf, o);
    o = writeUuid(buf, o, ts, instance, seq);
    return copy(NATS_HDR_END, 0, NATS_HDR_END.length, buf, o);
  }

  /**
   * The subjects of the agent whose bytes are rec[a0, a1), one per event type, as text and as
   * UTF-8 (`label`: the agent is the plugin's label, see src/subject.ts). Consecutive records
   * mostly come from the same agent: comparing its bytes with the previous record's avoids
   * decoding a string.
   */
  private subjectsOf(rec: Buffer, a0: number, a1: number, label: boolean): Subjects {
    const last = this.lastAgent;
    let same = this.last !== undefined && last.length === a1 - a0 && this.lastLabel === label;
    for (let i = 0; same && i < last.length; i++) same = last[i] === rec[a0 + i];
    if (same) return this.last!;
    const agent = rec.toString("utf8", a0, a1);
    this.lastAgent = Uint8Array.prototype.slice.call(rec, a0, a1);
    this.lastLabel = label;
    const key = label ? `\u0000${agent}` : agent;
    let subjects = this.subjects.get(key);
    if (subjects === undefined) {
      if (this.subjects.size >= MAX_CACHED_AGENTS) this.subjects.clear();
      const text = EVENT_TYPES.map((t) => subjectFor(this.prefix, agent, t, label));
      subjects = { text, bytes: text.map((t) => Buffer.from(t, "utf8")) };
      this.subjects.set(key, subjects);
    }
    this.last = subjects;
    return subjects;
  }
  private lastAgent = new Uint8Array(0);
  private lastLabel = false;
  private last: Subjects | undefined;
}

/** An agent's subjects by event type. */
interface Subjects {
  text: string[];
  bytes: Buffer[];
}

/** Decimal digits of a non-negative safe integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes the decimal digits of a non-negative safe integer at o. */
function writeDigits(buf: Uint8Array, o: number, n: number): number {
  const end = o + digits(n);
  for (let i = end - 1; i >= o; i--) {
    const q = Math.floor(n / 10);
    buf[i] = 0x30 + (n - q * 10);
    n = q;
  }
  return end;
}

/**
 * The text of a ts that writeDigits cannot write (negative, fractional or huge: a spooled record
 * holds whatever its file says), or undefined for the usual epoch milliseconds.
 */
function decimalText(ts: number): string | undefined {
  return Number.isSafeInteger(ts) && ts >= 0 ? undefined : String(ts);
}

/**
 * Copies src[start, end) to dst at o and returns the new offset. A byte loop for short ranges:
 * Buffer#copy checks its arguments and builds a view per call, which costs more than it copies.
 */
function copy(src: Uint8Array, start: number, end: number, dst: Uint8Array, o: number): number {
  const n = end - start;
  // A plain view: Buffer#subarray makes a Buffer through more JavaScript (measured: a few ns more).
  if (n > 64) dst.set(new Uint8Array(src.buffer, src.byteOffset + start, n), o);
  else for (let i = 0; i < n; i++) dst[o + i] = src[start + i];
  return o + n;
}

/** Writes the ASCII string `s` at o; a byte loop, as for copy(). */
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

/** Bytes of the MessagePack str header for a string of `len` bytes (records keep them under 64 KiB). */
function strHeaderBytes(len: number): number {
  return len < 32 ? 1 : len < 256 ? 2 : 3;
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

function msgpackStr(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const h = Buffer.alloc(3);
  return Buffer.concat([h.subarray(0, strHeader(h, 0, b.length)), b]);
}
