// Layout of one record in the ring, written by the host thread and read by the worker.
//   0 u32 length      4 u16 event type   6 u16 flags
//   8 f64 ts (epoch ms, the envelope's ts)   16 f64 capture time (shared clock, for latency)
//  24 f64 sequence number (makes the message id)
//  32 u16 agent bytes  34 u16 session bytes  36 u32 payload bytes
//  40 agent utf-8 | session utf-8 | payload (JSON or MessagePack, as configured)
// A fixed binary header beats encoding these fields with msgpack or JSON on the host: see
// bench/codec-compare.ts for the comparison.

export const REC_LEN = 0;
export const REC_TYPE = 4;
export const REC_FLAGS = 6;
export const REC_TS = 8;
export const REC_CAPTURED = 16;
export const REC_SEQ = 24;
export const REC_AGENT_LEN = 32;
export const REC_SESSION_LEN = 34;
export const REC_PAYLOAD_LEN = 36;
export const REC_HEADER = 40;

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
