// The records published and not yet released, in publish order. Each entry has a token (its
// position in that order, also the last token of its reply subject). Entries are released only
// as the oldest contiguous run of finished ones, so the ring is never freed before JetStream has
// stored a record, and a spool segment's progress only ever covers stored records.

export const SENT = 1;
export const ACKED = 2;
/** Given up on (the server can never take it): released like an acked record, counted apart. */
export const DROPPED = 3;
/** Moved to the spool while in flight: a late ack is ignored, the spool's copy is what counts. */
export const MOVED = 4;

/** Where an entry's record lives. */
export const FROM_RING = 0;
export const FROM_SPOOL = 1;
/** A ring record whose ring space was given back when the ring went to the spool: nothing to release. */
export const FROM_NOWHERE = 2;

export class AckWindow<Segment> {
  readonly capacity: number;
  private readonly mask: number;
  readonly state: Uint8Array;
  /** Offset of the record (in the ring, or in its spool segment) to rebuild it for a retry. */
  readonly pos: Uint32Array;
  /** Ring cursor just past the record (what to release once it and all before it are done). */
  readonly end: Uint32Array;
  readonly from: Uint8Array;
  /** The spool segment of a FROM_SPOOL entry. */
  readonly segment: (Segment | undefined)[];
  /** 1 when this process captured the record (ring records, and spool records of this instance). */
  readonly own: Uint8Array;
  readonly captured: Float64Array;
  readonly sentAt: Float64Array;
  /** When to retry if no ack has come: publish time + timeout, or an error backoff. */
  readonly deadline: Float64Array;
  readonly attempts: Uint16Array;
  readonly duplicate: Uint8Array;
  /** Token of the oldest entry held; `high` is the token the next entry gets. */
  low = 0;
  high = 0;
  /** Entries whose ring space is not given back yet: while there are some, spooled ring space waits. */
  ringEntries = 0;

  constructor(maxInFlight: number) {
    let cap = 1;
    while (cap < maxInFlight) cap <<= 1;
    this.capacity = maxInFlight;
    this.mask = cap - 1;
    this.state = new Uint8Array(cap);
    this.pos = new Uint32Array(cap);
    this.end = new Uint32Array(cap);
    this.from = new Uint8Array(cap);
    this.segment = new Array<Segment | undefined>(cap).fill(undefined);
    this.own = new Uint8Array(cap);
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

  /** Adds an entry and returns its token; `segment` undefined for a ring record. */
  add(pos: number, end: number, segment: Segment | undefined, own: boolean, captured: number, now: number, timeoutMs: number): number {
    const token = this.high++;
    const i = token & this.mask;
    this.state[i] = SENT;
    this.pos[i] = pos;
    this.end[i] = end;
    this.segment[i] = segment;
    if (segment === undefined) {
      this.from[i] = FROM_RING;
      this.ringEntries++;
    } else this.from[i] = FROM_SPOOL;
    this.own[i] = own ? 1 : 0;
    this.captured[i] = captured;
    this.sentAt[i] = now;
    this.deadline[i] = now + timeoutMs;
    this.attempts[i] = 1;
    this.duplicate[i] = 0;
    return token;
  }

  /** The entry in slot `i` no longer holds ring space (it went to the spool, or was stored and passed over). */
  detach(i: number): void {
    if (this.from[i] !== FROM_RING) return;
    this.from[i] = FROM_NOWHERE;
    this.ringEntries--;
  }

  /** Slot of an entry still waiting for its ack, or -1 (stale, unknown or already finished). */
  pending(token: number): number {
    if (!Number.isInteger(token) || token < this.low || token >= this.high) return -1;
    const i = token & this.mask;
    return this.state[i] === SENT ? i : -1;
  }

  /**
   * Releases the finished entries at the start of the window into `out`: the ring cursor to free
   * (when ring entries were among them), what was stored, and each released spool entry's segment
   * in order. Returns how many entries were released.
   */
  releaseFinished(out: Released<Segment>): number {
    out.ringTo = -1;
    out.ownAcked = 0;
    out.earlierAcked = 0;
    out.duplicates = 0;
    out.segments.length = 0;
    let n = 0;
    while (this.low < this.high) {
      const i = this.low & this.mask;
      const st = this.state[i];
      if (st < ACKED) break;
      if (st === ACKED) {
        if (this.own[i] === 1) out.ownAcked++;
        else out.earlierAcked++;
        out.duplicates += this.duplicate[i];
      }
      if (this.from[i] === FROM_RING) {
        out.ringTo = this.end[i];
        this.ringEntries--;
      } else if (this.from[i] === FROM_SPOOL) out.segments.push(this.segment[i]!);
      this.state[i] = 0;
      this.segment[i] = undefined;
      this.low++;
      n++;
    }
    return n;
  }
}

/** What one releaseFinished() call released. */
export interface Released<Segment> {
  /** Ring cursor to release, or -1. */
  ringTo: number;
  /** Records acked, captured by this process / by an earlier one (replayed from its spool). */
  ownAcked: number;
  earlierAcked: number;
  duplicates: number;
  /** The segment of each released spool entry, in release order. */
  segments: Segment[];
}

export function newReleased<Segment>(): Released<Segment> {
  return { ringTo: -1, ownAcked: 0, earlierAcked: 0, duplicates: 0, segments: [] };
}
