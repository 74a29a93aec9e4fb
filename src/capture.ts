// The host-thread hot path: one event in, one record copied into the ring, return.
// No promise, no await, never a throw: every outcome is a counter.
import { transcode } from "node:buffer";
import { Counter, type RingViews } from "./ring/layout.ts";
import { RingProducer } from "./ring/producer.ts";
import {
  FLAG_LABEL_AGENT,
  FLAG_TRUNCATED,
  FLAG_UTF16,
  MAX_AGENT_CHARS,
  MAX_SESSION_CHARS,
  REC_HEADER_BYTES,
  sharedClockMs,
  type Encoding,
  writeRecHeader,
} from "./record/format.ts";
import { type EncodedPayload, encodeOversized, encodePayload } from "./record/payload.ts";

interface CaptureOptions {
  encoding: Encoding;
  maxPayloadBytes: number;
}

export type CaptureResult = "ok" | "ring-full" | "too-large" | "rejected";

export class EventCapture {
  private readonly v: RingViews;
  private readonly producer: RingProducer;
  private readonly encoding: Encoding;
  private readonly maxPayloadBytes: number;
  /** A record larger than this could starve the ring; it is refused outright. */
  private readonly maxRecordBytes: number;

  constructor(views: RingViews, opts: CaptureOptions) {
    this.v = views;
    this.producer = new RingProducer(views);
    this.encoding = opts.encoding;
    this.maxPayloadBytes = opts.maxPayloadBytes;
    this.maxRecordBytes = views.capacity >>> 1;
  }

  /**
   * Copies one event into the ring. `type` is an index into EVENT_TYPES; `label` when `agent` is
   * the plugin's label ("system", "unknown"), not an agent id.
   */
  capture(type: number, agent: string, session: string, payload: unknown, label = false): CaptureResult {
    const c = this.v.counters;
    c[Counter.captured]++;
    try {
      return this.write(type, agent, session, payload, label);
    } catch {
      c[Counter.rejected]++;
      return "rejected";
    }
  }

  /** An event a hook saw but could not read (e.g. a throwing getter): counted as capture() counts one it refuses. */
  reject(): void {
    const c = this.v.counters;
    c[Counter.captured]++;
    c[Counter.rejected]++;
  }

  // Date.now() costs about as much again as the shared clock (~180 ns on this VM, a quarter of a
  // capture). The envelope's wall-clock ts is derived from the shared clock with an offset that is
  // re-read at least every second and every 1024 events, so a clock step shows within a second.
  private clockOffset = 0;
  private clockSyncedAt = -Infinity;
  private clockUses = 0;

  private wallClock(shared: number): number {
    if (shared - this.clockSyncedAt > 1000 || ++this.clockUses > 1024) {
      this.clockOffset = Date.now() - shared;
      this.clockSyncedAt = shared;
      this.clockUses = 0;
    }
    return Math.floor(shared + this.clockOffset);
  }

  private write(type: number, agent: string, session: string, payload: unknown, label: boolean): CaptureResult {
    const v = this.v;
    const c = v.counters;
    const captured = sharedClockMs();
    const ts = this.wallClock(captured);
    const maxBytes = this.maxPayloadBytes;
    let enc = encodePayload(payload, this.encoding, maxBytes, false);
    if (agent.length > MAX_AGENT_CHARS) agent = agent.slice(0, MAX_AGENT_CHARS);
    if (session.length > MAX_SESSION_CHARS) session = session.slice(0, MAX_SESSION_CHARS);

    // Room for the record at its upper bound (3 UTF-8 bytes per UTF-16 unit): the exact size of a
    // string costs a pass over it (Buffer.byteLength: 10 times the UTF-8 write of an ASCII string),
    // so it is measured only when the bound does not fit (a huge body, or a nearly full ring).
    const head = REC_HEADER_BYTES + agent.length * 3 + session.length * 3;
    let body = enc.body;
    let bodyMax = typeof body === "string" ? body.length * 3 : body.length;
    let off = head + bodyMax > this.maxRecordBytes ? -1 : this.producer.reserve(head + bodyMax);
    if (off < 0 && typeof body === "string") {
      bodyMax = Buffer.byteLength(body);
      if (enc.unmeasured && bodyMax > maxBytes) {
        enc = encodeOversized(payload, this.encoding, maxBytes, bodyMax);
        body = enc.body;
        bodyMax = typeof body === "string" ? Buffer.byteLength(body) : body.length;
      }
      off = head + bodyMax > this.maxRecordBytes ? -1 : this.producer.reserve(head + bodyMax);
    }
    if (off < 0) {
      // (an event dropped here still counts as sanitized or truncated, as it always has)
      countShape(c, enc);
      if (head + bodyMax > this.maxRecordBytes) {
        c[Counter.droppedTooLarge]++;
        return "too-large";
      }
      c[Counter.droppedRingFull]++;
      return "ring-full";
    }
    const bytes = v.bytes;
    let p = off + REC_HEADER_BYTES;
    const agentLen = writeShort(bytes, agent, p);
    p += agentLen;
    const sessionLen = writeShort(bytes, session, p);
    p += sessionLen;
    // Two-byte JSON text goes in as UTF-16, unless its UTF-8 size is still to be learnt (see isWide).
    const utf16 = typeof body === "string" && !enc.unmeasured && isWide(body);
    let bodyLen = utf16 ? bytes.write(body as string, p, "utf16le") : writeBody(bytes, body, p);
    if (enc.unmeasured && bodyLen > maxBytes) {
      // Over maxBytes after all: the cut version is smaller than what the reservation already holds.
      enc = encodeOversized(payload, this.encoding, maxBytes, bodyLen);
      bodyLen = writeBody(bytes, enc.body, p);
    }
    countShape(c, enc);
    const flags = (enc.truncated ? FLAG_TRUNCATED : 0) | (label ? FLAG_LABEL_AGENT : 0) | (utf16 ? FLAG_UTF16 : 0);
    const seq = c[Counter.written];
    writeRecHeader(v, off, type, flags, ts, captured, seq, agentLen, sessionLen, bodyLen);
    this.producer.commit(p + bodyLen - off);
    c[Counter.written] = seq + 1;
    return "ok";
  }
}

function countShape(c: Float64Array, enc: EncodedPayload): void {
  if (enc.sanitized) c[Counter.sanitized]++;
  if (enc.truncated) c[Counter.truncated]++;
}

/**
 * An agent id or session key as UTF-8. Short ASCII ones (nearly all) are copied in a loop: a
 * Buffer.write call costs ~60 ns on its own, about what the loop spends on 40 characters.
 */
function writeShort(bytes: Buffer, s: string, p: number): number {
  const n = s.length;
  if (n <= 48) {
    let i = 0;
    for (; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x80) break;
      bytes[p + i] = ch;
    }
    if (i === n) return n;
  }
  return bytes.write(s, p, "utf8");
}

/**
 * The payload: JSON text as UTF-8, or MessagePack bytes. Buffer#fill copies with memcpy, where
 * Uint8Array#set into shared memory copies piecewise (8 times slower at 50 KB here); for a few
 * hundred bytes its call costs more than it saves.
 */
function writeBody(bytes: Buffer, body: string | Uint8Array, p: number): number {
  if (typeof body === "string") return isWide(body) ? writeWide(bytes, body, p) : bytes.write(body, p, "utf8");
  const n = body.length;
  if (n <= 512) bytes.set(body, p);
  else bytes.fill(body, p, p + n);
  return n;
}

// JSON text with a character above U+00FF (a ✓, an emoji, a CJK word anywhere in a tool's output)
// is a two-byte string, which V8 turns into UTF-8 one character at a time (Buffer#write: ~1 ns per
// character here, half of what JSON.stringify took to make it), where one-byte text is a memcpy.
// So two-byte text is copied out as UTF-16 (a memcpy too) and the record flagged FLAG_UTF16: the
// worker converts it (workers/envelope.ts). Only when its UTF-8 size decides whether it must be
// cut (more than maxPayloadBytes / 3 units) is it converted here, with buffer.transcode, in chunks
// so the scratch buffer stays small: still less than half the time of Buffer#write. JSON.stringify
// escapes lone surrogates, so the text is well-formed UTF-16 and every way gives the same bytes.
const WIDE = /[^\u0000-\u00ff]/;
/** Below this, finding out costs more than it saves. */
const WIDE_MIN_CHARS = 1024;
const WIDE_CHUNK = 16384;
let scratch: Buffer | undefined;

const isWide = (s: string) => s.length >= WIDE_MIN_CHARS && WIDE.test(s);

function writeWide(bytes: Buffer, s: string, p: number): number {
  scratch ??= Buffer.allocUnsafe(WIDE_CHUNK * 2);
  const start = p;
  for (let i = 0; i < s.length; ) {
    let end = Math.min(s.length, i + WIDE_CHUNK);
    // never split a surrogate pair between two chunks
    if (end < s.length && (s.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
    const n = scratch.write(i === 0 && end === s.length ? s : s.slice(i, end), 0, "utf16le");
    const utf8 = transcode(scratch.subarray(0, n), "utf16le", "utf8");
    bytes.fill(utf8, p, p + utf8.length);
    p += utf8.length;
    i = end;
  }
  return p - start;
}
