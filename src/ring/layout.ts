// Shared-memory layout of the event ring: the control area (control words, then counters), then
// the ring data. Both threads import this file; it is the only place where ring offsets are defined.
// Units are in the names: CTL_I32_* index the Int32 view `ctl`, Counter.* index the Float64 view
// `counters`, *_BYTES and *_BYTE_OFFSET count bytes.

/** Bytes of the control area before the ring data. Keeps the data 4 KiB aligned. */
export const CONTROL_AREA_BYTES = 4096;

// Int32 control words (indexes into RingViews.ctl, not bytes), each on its own 64-byte cache line
// (16 Int32 per line) so the producer's and the consumer's stores never share a line.
export const CTL_I32_WRITE = 0; // producer cursor, u32 byte counter (monotonic, wraps at 2^32)
export const CTL_I32_RELEASE = 16; // consumer cursor: bytes before it are acked and reusable
export const CTL_I32_SLEEPING = 32; // 1 while the consumer waits for data; the producer notifies only then
export const CTL_I32_INSTANCE = 48; // random per-process id that makes message ids deterministic per record
export const CTL_I32_CAPACITY = 64; // ring capacity in bytes (a power of two), for a worker to validate
export const CTL_WORDS = 80; // length of the ctl view (Int32 words): the control words above

// Float64 counters (exact up to 2^53), at COUNTERS_BYTE_OFFSET of the control area. Each counter has
// exactly one writer thread; the other thread only reads it for status. Producer and worker counters
// live on separate cache lines.
export const COUNTERS_BYTE_OFFSET = 1024;
/** Slot indexes into RingViews.counters (a Float64Array: one slot is 8 bytes). */
export const Counter = {
  // written by the host thread (producer)
  captured: 0, // events handed to capture() after filtering
  written: 1, // records copied into the ring (= next record sequence number)
  droppedRingFull: 2,
  droppedTooLarge: 3, // a record that could never fit the ring
  rejected: 4, // payloads that could not be encoded at all
  truncated: 5, // payloads cut to maxPayloadBytes (still delivered)
  ringHighWater: 6, // most bytes in use seen by the worker (it knows both cursors); written by the worker
  sanitized: 7, // payloads that plain encoding refused (cycles, BigInt...) and were made safe
  hookCalls: 8, // hook handler calls (one call can capture two events: run.end + run.error)
  hookCostSamples: 9, // host-thread cost of a hook call, sampled (every 32nd call)
  hookCostNs: 10, // sum of the sampled costs
  // written by the publisher worker
  published: 16, // records published (each counted once, whatever the retries)
  retried: 17, // re-publishes (timeouts, errors, reconnects, worker restarts)
  acked: 18, // records captured by this process and stored by JetStream (from the ring or the spool)
  duplicates: 19, // acks that JetStream flagged as duplicates (already stored)
  failed: 20, // negative acks and ack time-outs (each is retried)
  timeouts: 21, // subset of failed: no ack within publishTimeoutMs
  reconnects: 22,
  inFlight: 23, // published and not yet acked
  undeliverable: 24, // records the server can never take (over its max_payload): released, counted
  publishedUpTo: 25, // one past the highest sequence ever published: tells a restarted worker's
  // re-publishes (retried) from first publishes (published)
  spooled: 26, // records written to the disk spool
  replayed: 27, // records published from the disk spool (first attempts)
  spoolBytes: 28, // bytes in the spool now
  spoolFailed: 29, // 1 while the spool cannot be written (disk full, no permission)
  spoolFull: 30, // 1 while the spool has reached spoolMaxBytes
  workerHeartbeat: 31, // shared-clock ms of the worker's last sweep: the host's watchdog sees a blocked loop
  // written by the host thread (supervisor)
  workerStarts: 32,
  workerCrashes: 33,
  workerStalls: 34, // workers replaced by the watchdog (alive but making no progress)
  // written by the publisher worker
  recovered: 35, // records captured by an earlier process, replayed from its spool and stored
  recoveredDropped: 36, // records of an earlier process that the server can never take
  spoolBadSegments: 37, // spool files set aside (*.bad) as unreadable or damaged
  spoolBadRecords: 38, // damaged stretches skipped in spool files
  spoolBadBytes: 39, // bytes skipped in spool files
  foreignAcks: 40, // replies on the ack inbox that are not acks of ours (ignored)
  // written by the publisher worker (workers/redact.ts)
  redactions: 48, // secrets replaced by [REDACTED:kind] in published payloads
  redactedEvents: 49, // events that had at least one
} as const;
export const COUNTER_SLOTS = 64;

/**
 * Every record starts 8-byte aligned with its length in bytes as a u32 (the ring's framing: see
 * recordLength); this length word marks "no record here, continue at offset 0".
 */
export const SKIP_MARKER = 0xffffffff;

export interface RingViews {
  sab: SharedArrayBuffer;
  ctl: Int32Array;
  counters: Float64Array;
  capacity: number;
  mask: number;
  /**
   * The ring data as a Buffer (for fast utf8 writes/copies) and typed views over the same memory.
   * Positions in the ring are byte offsets; src/record/format.ts converts them for the typed views.
   */
  bytes: Buffer;
  u16: Uint16Array;
  u32: Uint32Array;
  f64: Float64Array;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Allocates a ring of `capacity` bytes (a power of two, 64 KiB .. 1 GiB). */
export function createRing(capacity: number, instanceId: number): SharedArrayBuffer {
  if (!isPowerOfTwo(capacity) || capacity < 65536 || capacity > 2 ** 30) {
    throw new RangeError(`ring capacity must be a power of two between 64 KiB and 1 GiB, got ${capacity}`);
  }
  const sab = new SharedArrayBuffer(CONTROL_AREA_BYTES + capacity);
  const ctl = new Int32Array(sab, 0, CTL_WORDS);
  ctl[CTL_I32_INSTANCE] = instanceId | 0;
  ctl[CTL_I32_CAPACITY] = capacity;
  return sab;
}

export function ringViews(sab: SharedArrayBuffer): RingViews {
  const ctl = new Int32Array(sab, 0, CTL_WORDS);
  const capacity = ctl[CTL_I32_CAPACITY];
  if (!isPowerOfTwo(capacity) || sab.byteLength !== CONTROL_AREA_BYTES + capacity) {
    throw new Error(`not an event ring (capacity word ${capacity}, ${sab.byteLength} bytes)`);
  }
  return {
    sab,
    ctl,
    counters: new Float64Array(sab, COUNTERS_BYTE_OFFSET, COUNTER_SLOTS),
    capacity,
    mask: capacity - 1,
    bytes: Buffer.from(sab, CONTROL_AREA_BYTES, capacity),
    u16: new Uint16Array(sab, CONTROL_AREA_BYTES, capacity >>> 1),
    u32: new Uint32Array(sab, CONTROL_AREA_BYTES, capacity >>> 2),
    f64: new Float64Array(sab, CONTROL_AREA_BYTES, capacity >>> 3),
  };
}

/** Bytes written and not yet released. */
export function ringUsed(v: RingViews): number {
  return distance(Atomics.load(v.ctl, CTL_I32_RELEASE) >>> 0, Atomics.load(v.ctl, CTL_I32_WRITE) >>> 0);
}

/** Bytes between two u32 cursors. */
export function distance(from: number, to: number): number {
  return (to - from) >>> 0;
}

/** The length word of the record at byte offset `pos` (8-byte aligned): its size in bytes, or SKIP_MARKER. */
export function recordLength(s: Pick<RingViews, "u32">, pos: number): number {
  return s.u32[pos >>> 2];
}

export function setRecordLength(s: Pick<RingViews, "u32">, pos: number, len: number): void {
  s.u32[pos >>> 2] = len;
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}
