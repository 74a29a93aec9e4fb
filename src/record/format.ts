// Layout of one record in the ring, written by the host thread and read by the worker. Offsets in
// bytes from the record's start (always 8-byte aligned):
//   0 u32 length (the ring's framing word: recordLength in src/ring/layout.ts)
//   4 u16 event type   6 u16 flags
//   8 f64 ts (epoch ms, the envelope's ts)   16 f64 capture time (shared clock, for latency)
//  24 f64 sequence number (makes the message id)
//  32 u16 agent bytes  34 u16 session bytes  36 u32 payload bytes
//  40 agent utf-8 | session utf-8 | payload (JSON or MessagePack, as configured; JSON text with
//     characters above U+00FF may be UTF-16LE instead of UTF-8: FLAG_UTF16)
// Bytes 0-39 are the record header. A fixed binary record header beats encoding these fields with
// msgpack or JSON on the host: see bench/codec-compare.ts for the comparison.
// Fields are read and written through the functions below, which turn a record's byte offset into
// an index of the typed view of the field's width; V8 inlines them (bench/codec-compare.ts).
import type { RingViews } from "../ring/layout.ts";

export const REC_OFF_TYPE = 4;
export const REC_OFF_FLAGS = 6;
export const REC_OFF_TS = 8;
export const REC_OFF_CAPTURED = 16;
export const REC_OFF_SEQ = 24;
export const REC_OFF_AGENT_LEN = 32;
export const REC_OFF_SESSION_LEN = 34;
export const REC_OFF_PAYLOAD_LEN = 36;
/** Bytes of the record header: the agent's bytes start here. */
export const REC_HEADER_BYTES = 40;

type U16 = Pick<RingViews, "u16">;
type U32 = Pick<RingViews, "u32">;
type F64 = Pick<RingViews, "f64">;

/** Index into EVENT_TYPES. */
export function recType(s: U16, pos: number): number {
  return s.u16[(pos + REC_OFF_TYPE) >>> 1];
}
export function recFlags(s: U16, pos: number): number {
  return s.u16[(pos + REC_OFF_FLAGS) >>> 1];
}
export function recTs(s: F64, pos: number): number {
  return s.f64[(pos + REC_OFF_TS) >>> 3];
}
export function recCaptured(s: F64, pos: number): number {
  return s.f64[(pos + REC_OFF_CAPTURED) >>> 3];
}
export function recSeq(s: F64, pos: number): number {
  return s.f64[(pos + REC_OFF_SEQ) >>> 3];
}
export function recAgentLen(s: U16, pos: number): number {
  return s.u16[(pos + REC_OFF_AGENT_LEN) >>> 1];
}
export function recSessionLen(s: U16, pos: number): number {
  return s.u16[(pos + REC_OFF_SESSION_LEN) >>> 1];
}
export function recPayloadLen(s: U32, pos: number): number {
  return s.u32[(pos + REC_OFF_PAYLOAD_LEN) >>> 2];
}
/** Byte offset of the payload: after the record header, the agent and the session. */
export function recPayloadStart(s: U16, pos: number): number {
  return pos + REC_HEADER_BYTES + recAgentLen(s, pos) + recSessionLen(s, pos);
}

/** Writes the record header's fields after the length word (which the ring's commit writes). */
export function writeRecHeader(
  v: Pick<RingViews, "u16" | "u32" | "f64">,
  pos: number,
  type: number,
  flags: number,
  ts: number,
  captured: number,
  seq: number,
  agentLen: number,
  sessionLen: number,
  payloadLen: number,
): void {
  v.u16[(pos + REC_OFF_TYPE) >>> 1] = type;
  v.u16[(pos + REC_OFF_FLAGS) >>> 1] = flags;
  v.f64[(pos + REC_OFF_TS) >>> 3] = ts;
  v.f64[(pos + REC_OFF_CAPTURED) >>> 3] = captured;
  v.f64[(pos + REC_OFF_SEQ) >>> 3] = seq;
  v.u16[(pos + REC_OFF_AGENT_LEN) >>> 1] = agentLen;
  v.u16[(pos + REC_OFF_SESSION_LEN) >>> 1] = sessionLen;
  v.u32[(pos + REC_OFF_PAYLOAD_LEN) >>> 2] = payloadLen;
}

export const FLAG_TRUNCATED = 1;
/** The agent is the plugin's label ("system", "unknown"), not an agent id: see src/subject.ts. */
export const FLAG_LABEL_AGENT = 2;
/** The JSON payload is UTF-16LE (text with characters above U+00FF); the worker makes it UTF-8. */
export const FLAG_UTF16 = 4;

/** Longest agent id and session key kept (in UTF-16 units); longer ones are cut. */
export const MAX_AGENT_CHARS = 256;
export const MAX_SESSION_CHARS = 1024;

// A thread's time origin never changes; its getter costs a quarter of performance.now() here.
const TIME_ORIGIN = performance.timeOrigin;

/** The clock shared by both threads (checked by a test): epoch ms with sub-ms precision. */
export function sharedClockMs(): number {
  return TIME_ORIGIN + performance.now();
}

/** Where records are read from: the ring, or a spool segment loaded from disk. */
export type RecordSource = Pick<RingViews, "bytes" | "u16" | "u32" | "f64">;

/** How a record's payload is encoded, and so the message built from it (the `encoding` setting). */
export type Encoding = "json" | "msgpack";
