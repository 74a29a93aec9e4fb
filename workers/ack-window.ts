// The records published and not yet released, indexed by sequence number. Records enter in
// sequence order; the ring is released only over the oldest contiguous run of acked records,
// so a record is never freed before JetStream has stored it.

export const SENT = 1;
export const ACKED = 2;
/** Given up on (the server can never take it): released like an acked record, counted apart. */
export const DROPPED = 3;

export class AckWindow {
  readonly capacity: number;
  private readonly mask: number;
  readonly state: Uint8Array;
  /** Ring offset of the record (to rebuild it for a retry). */
  readonly pos: Uint32Array;
  /** Ring cursor just past the record (what to release once it and all before it are acked). */
  readonly end: Uint32Array;
  readonly captured: Float64Array;
  readonly sentAt: Float64Array;
  /** When to retry if no ack has come: publish time + timeout, or an error backoff. */
  readonly deadline: Float64Array;
  readonly attempts: Uint16Array;
  readonly duplicate: Uint8Array;
  /** Sequence of the oldest record held; `high` is one past the newest. */
  low = 0;
  high = 0;

  constructor(maxInFlight: number) {
    let cap = 1;
    while (cap < maxInFlight) cap <<= 1;
    this.capacity = maxInFlight;
    this.mask = cap - 1;
    this.state = new Uint8Array(cap);
    this.pos = new Uint32Array(cap);
    this.end = new Uint32Array(cap);
    this.captured = new Float64Array(cap);
    this.sentAt = new Float64Array(cap);
    this.deadline = new Float64Array(cap);
    this.attempts = new Uint16Array(cap);
    this.duplicate = new Uint8Array(cap);
  }

  get size(): number {
    return this.high - this.low;
  }

  get full(): boolean {
    return this.high - this.low >= this.capacity;
  }

  slot(seq: number): number {
    return seq & this.mask;
  }

  /** Adds the next record; the first one added fixes where the window starts. */
  add(seq: number, pos: number, end: number, captured: number, now: number, timeoutMs: number): number {
    if (this.high === this.low) this.low = this.high = seq;
    if (seq !== this.high) throw new Error(`ack window: expected sequence ${this.high}, got ${seq}`);
    const i = seq & this.mask;
    this.state[i] = SENT;
    this.pos[i] = pos;
    this.end[i] = end;
    this.captured[i] = captured;
    this.sentAt[i] = now;
    this.deadline[i] = now + timeoutMs;
    this.attempts[i] = 1;
    this.duplicate[i] = 0;
    this.high = seq + 1;
    return i;
  }

  /** Index of a record still waiting for its ack, or -1 (stale, unknown or already acked). */
  pending(seq: number): number {
    if (seq < this.low || seq >= this.high) return -1;
    const i = seq & this.mask;
    return this.state[i] === SENT ? i : -1;
  }

  /**
   * Drops the finished records at the start of the window. Returns how many, and leaves the
   * cursor to release in `releaseTo` and, among them, the acked ones in `releasedAcked` and the
   * duplicates in `releasedDuplicates`.
   */
  releaseAcked(): number {
    let n = 0;
    let acked = 0;
    let dups = 0;
    while (this.low < this.high) {
      const i = this.low & this.mask;
      const st = this.state[i];
      if (st < ACKED) break;
      if (st === ACKED) acked++;
      this.state[i] = 0;
      this.releaseTo = this.end[i];
      dups += this.duplicate[i];
      this.low++;
      n++;
    }
    this.releasedAcked = acked;
    this.releasedDuplicates = dups;
    return n;
  }
  releaseTo = 0;
  releasedAcked = 0;
  releasedDuplicates = 0;
}
