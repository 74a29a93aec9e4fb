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
const FROM_NOWHERE = 2;

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
  add(
    pos: number,
    end: number,
    segment: Segment | undefined,
    own: boolean,
    captured: number,
    now: number,
    timeoutMs: number,
  ): number {
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
    out.acked = 0;
    out.duplicates = 0;
    out.segments.length = 0;
    out.outcomes.length = 0;
    let n = 0;
    while (this.low < this.high) {
      const i = this.low & this.mask;
      const st = this.state[i];
      if (st < ACKED) break;
      if (this.from[i] === FROM_SPOOL) {
        out.segments.push(this.segment[i]!);
        out.outcomes.push(outcome(st === ACKED, this.own[i] === 1, this.duplicate[i] === 1));
      } else if (st === ACKED) {
        out.acked++;
        out.duplicates += this.duplicate[i];
      }
      if (this.from[i] === FROM_RING) {
        out.ringTo = this.end[i];
        this.ringEntries--;
      }
      this.state[i] = 0;
      this.segment[i] = undefined;
      this.low++;
      n++;
    }
    return n;
  }
}

/** What one releaseFinished() call released. */
interface Released<Segment> {
  /** Ring cursor to release, or -1. */
  ringTo: number;
  /** Ring records acked (all captured by this process), and how many of them JetStream had already. */
  acked: number;
  duplicates: number;
  /** The segment of each released spool entry, in release order, and what became of it (OUTCOME_* bits). */
  segments: Segment[];
  outcomes: number[];
}

/** Bits of a released spool entry's outcome: stored (else given up), captured by this process, a duplicate. */
export const OUTCOME_ACKED = 1;
export const OUTCOME_OWN = 2;
export const OUTCOME_DUPLICATE = 4;

function outcome(acked: boolean, own: boolean, duplicate: boolean): number {
  return (acked ? OUTCOME_ACKED : 0) | (own ? OUTCOME_OWN : 0) | (duplicate ? OUTCOME_DUPLICATE : 0);
}

export function newReleased<Segment>(): Released<Segment> {
  return { ringTo: -1, acked: 0, duplicates: 0, segments: [], outcomes: [] };
}
