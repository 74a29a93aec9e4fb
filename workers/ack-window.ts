// The records published and not yet released, in publish order. Each entry has a token (its
// position in that order, also the last token of its reply subject). The ring is released only
// over the oldest contiguous run of finished entries, so a record is never freed before JetStream
// has stored it. Entries replayed from the disk spool carry no ring cursor.

export const SENT = 1;
export const ACKED = 2;
/** Given up on (the server can never take it): released like an acked record, counted apart. */
export const DROPPED = 3;

export class AckWindow {
  readonly capacity: number;
  private readonly mask: number;
  readonly state: Uint8Array;
  /** Offset of the record (in the ring, or in its spool segment) to rebuild it for a retry. */
  readonly pos: Uint32Array;
  /** Ring cursor just past the record (what to release once it and all before it are done). */
  readonly end: Uint32Array;
  /** 1 for a record replayed from the spool (no ring space to release). */
  readonly spooled: Uint8Array;
  readonly captured: Float64Array;
  readonly sentAt: Float64Array;
  /** When to retry if no ack has come: publish time + timeout, or an error backoff. */
  readonly deadline: Float64Array;
  readonly attempts: Uint16Array;
  readonly duplicate: Uint8Array;
  /** Token of the oldest entry held; `high` is the token the next entry gets. */
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
    this.spooled = new Uint8Array(cap);
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

  slot(token: number): number {
    return token & this.mask;
  }

  /** Adds an entry and returns its token. */
  add(pos: number, end: number, spooled: boolean, captured: number, now: number, timeoutMs: number): number {
    const token = this.high++;
    const i = token & this.mask;
    this.state[i] = SENT;
    this.pos[i] = pos;
    this.end[i] = end;
    this.spooled[i] = spooled ? 1 : 0;
    this.captured[i] = captured;
    this.sentAt[i] = now;
    this.deadline[i] = now + timeoutMs;
    this.attempts[i] = 1;
    this.duplicate[i] = 0;
    return token;
  }

  /** Slot of an entry still waiting for its ack, or -1 (stale, unknown or already acked). */
  pending(token: number): number {
    if (token < this.low || token >= this.high) return -1;
    const i = token & this.mask;
    return this.state[i] === SENT ? i : -1;
  }

  /** Forgets every entry (their records are dealt with by the caller). */
  clear(): void {
    for (let t = this.low; t < this.high; t++) this.state[t & this.mask] = 0;
    this.low = this.high;
  }

  /**
   * Drops the finished entries at the start of the window and returns how many. Leaves the ring
   * cursor to release in `releaseTo` (when ring entries were among them), and, among them, the
   * acked ones in `releasedAcked`, the duplicates in `releasedDuplicates` and the spool replays in
   * `releasedSpooled`.
   */
  releaseAcked(): number {
    let n = 0;
    let acked = 0;
    let dups = 0;
    let spooled = 0;
    let ring = false;
    while (this.low < this.high) {
      const i = this.low & this.mask;
      const st = this.state[i];
      if (st < ACKED) break;
      if (st === ACKED) acked++;
      this.state[i] = 0;
      if (this.spooled[i] === 1) spooled++;
      else {
        this.releaseTo = this.end[i];
        ring = true;
      }
      dups += this.duplicate[i];
      this.low++;
      n++;
    }
    this.releasedAcked = acked;
    this.releasedDuplicates = dups;
    this.releasedSpooled = spooled;
    this.releasedRing = ring;
    return n;
  }
  releaseTo = 0;
  releasedRing = false;
  releasedAcked = 0;
  releasedDuplicates = 0;
  releasedSpooled = 0;
}
