// The host-thread hot path: one event in, one record copied into the ring, return.
// No promise, no await, never a throw: every outcome is a counter.
import { Counter, type RingViews } from "./ring/layout.ts";
import { RingProducer } from "./ring/producer.ts";
import {
  FLAG_LABEL_AGENT,
  FLAG_TRUNCATED,
  MAX_AGENT_CHARS,
  MAX_SESSION_CHARS,
  REC_HEADER_BYTES,
  sharedClockMs,
  type Encoding,
  writeRecHeader,
} from "./record/format.ts";
import { encodePayload } from "./record/payload.ts";

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
    const enc = encodePayload(payload, this.encoding, this.maxPayloadBytes);
    if (enc.sanitized) c[Counter.sanitized]++;
    if (enc.truncated) c[Counter.truncated]++;
    const body = enc.body;
    if (agent.length > MAX_AGENT_CHARS) agent = agent.slice(0, MAX_AGENT_CHARS);
    if (session.length > MAX_SESSION_CHARS) session = session.slice(0, MAX_SESSION_CHARS);

    // Upper bound of the record (3 UTF-8 bytes per UTF-16 unit), exact where that is cheap.
    const bodyMax =
      typeof body === "string" ? (body.length > 4096 ? Buffer.byteLength(body) : body.length * 3) : body.length;
    const maxLen = REC_HEADER_BYTES + agent.length * 3 + session.length * 3 + bodyMax;
    if (maxLen > this.maxRecordBytes) {
      c[Counter.droppedTooLarge]++;
      return "too-large";
    }
    const off = this.producer.reserve(maxLen);
    if (off < 0) {
      c[Counter.droppedRingFull]++;
      return "ring-full";
    }
    const bytes = v.bytes;
    let p = off + REC_HEADER_BYTES;
    const agentLen = bytes.write(agent, p, "utf8");
    p += agentLen;
    const sessionLen = bytes.write(session, p, "utf8");
    p += sessionLen;
    let bodyLen: number;
    if (typeof body === "string") bodyLen = bytes.write(body, p, "utf8");
    else {
      bytes.set(body, p);
      bodyLen = body.length;
    }
    const flags = (enc.truncated ? FLAG_TRUNCATED : 0) | (label ? FLAG_LABEL_AGENT : 0);
    const seq = c[Counter.written];
    writeRecHeader(v, off, type, flags, ts, captured, seq, agentLen, sessionLen, bodyLen);
    this.producer.commit(p + bodyLen - off);
    c[Counter.written] = seq + 1;
    return "ok";
  }
}
