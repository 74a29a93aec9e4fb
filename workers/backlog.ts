// Coordination between the ring and the disk spool: when ring records must go to disk, moving them
// there in capture order, replaying the spool before the ring, and tracking each segment's acked
// progress until it can be retired. It holds no connection: the publisher asks it what to publish
// next and tells it what JetStream has stored.
import { C, distance, type RingViews } from "../src/ring/layout.ts";
import { REC_LEN } from "../src/record/format.ts";
import type { RingConsumer } from "../src/ring/consumer.ts";
import { FROM_RING, MOVED, SENT, type AckWindow } from "./ack-window.ts";
import type { ReplaySegment, Spool } from "./spool.ts";

/** "unread": spool the records not published yet; "all": also those in flight (their acks are ignored). */
export type SpoolAction = "none" | "unread" | "all";

/** No ring space freed for this long while the ring is past its spool mark: JetStream is not acking. */
export const RING_STALL_MS = 100;

export interface RingState {
  /** Bytes of the ring in use, its capacity, and the spool mark (half the ring). */
  used: number;
  capacity: number;
  spoolMark: number;
  /** JetStream refused a record or let one time out within the last RING_STALL_MS. */
  refusing: boolean;
  /** JetStream can take records now (connected, stream ready, not stopping). */
  canPublish: boolean;
  /** Spooled records wait to be published (the ring waits behind them). */
  backlog: boolean;
  /** Since the ring's release cursor last moved. */
  msSinceRingRelease: number;
}

/**
 * Whether the ring must be emptied to the spool now. The ring is the host's only buffer: once it is
 * half full and JetStream is not taking its records fast enough (not connected, behind a spool
 * replay, refusing or not acking, or simply slower than the host), its records go to disk rather
 * than being dropped when it fills.
 */
export function spoolAction(s: RingState): SpoolAction {
  // Behind a replay the ring cannot be published before the spool is: waiting only uses up its room.
  if (s.used < (s.backlog ? s.spoolMark >>> 2 : s.spoolMark)) return "none";
  if (!s.canPublish || s.refusing || s.msSinceRingRelease >= RING_STALL_MS) return "all";
  // Nearly full: moving what is in flight too (at the price of re-sends that JetStream removes as
  // duplicates) beats dropping new events.
  if (s.used >= s.capacity - (s.capacity >>> 3)) return "all";
  return "unread";
}

export interface MoveResult {
  /** Records written to the spool. */
  moved: number;
  /** The spool could not take them all (full or failing); the rest stays in the ring. */
  complete: boolean;
}

export class Backlog {
  readonly spool: Spool;
  private readonly views: RingViews;
  private readonly consumer: RingConsumer;
  private readonly window: AckWindow<ReplaySegment>;
  /** Loaded segments not yet fully released, oldest first; only the last may have records left to publish. */
  private readonly replaying: ReplaySegment[] = [];
  /** Ring cursor past records that went to the spool while older ring records were still in flight. */
  private pendingRingRelease = -1;

  constructor(spool: Spool, views: RingViews, consumer: RingConsumer, window: AckWindow<ReplaySegment>) {
    this.spool = spool;
    this.views = views;
    this.consumer = consumer;
    this.window = window;
  }

  /** True while spooled records wait to be published: the ring waits behind them. */
  get active(): boolean {
    const last = this.replaying[this.replaying.length - 1];
    return (last !== undefined && (last.next < last.scan.offsets.length || !last.scan.done)) || this.spool.hasUnloaded;
  }

  /** True when nothing from the spool is waiting or in flight. */
  get idle(): boolean {
    return this.replaying.length === 0 && !this.spool.hasUnloaded;
  }

  /** The segment whose record `seg.next` is the next to publish, or undefined when the spool is empty. */
  nextSegment(): ReplaySegment | undefined {
    const last = this.replaying[this.replaying.length - 1];
    if (last !== undefined && this.spool.hasNext(last)) return last;
    if (last !== undefined && this.spool.finished(last)) this.retire(last); // its tail was damaged
    const seg = this.spool.nextSegment();
    if (seg !== undefined) this.replaying.push(seg);
    return seg;
  }

  /** Spool records released (stored or given up), in publish order: their segments' progress moves on. */
  released(segments: readonly ReplaySegment[]): void {
    for (const seg of segments) {
      seg.released++;
      if (this.spool.finished(seg)) this.retire(seg);
      else this.spool.progressed(seg);
    }
  }

  private retire(seg: ReplaySegment): void {
    const i = this.replaying.indexOf(seg);
    if (i >= 0) this.replaying.splice(i, 1);
    this.spool.retire(seg);
  }

  /**
   * Ring space to give back now: the cursor past spooled records once no older ring record is in
   * flight any more, else -1.
   */
  ringReleasable(): number {
    if (this.pendingRingRelease < 0 || this.window.ringEntries > 0) return -1;
    const to = this.pendingRingRelease;
    this.pendingRingRelease = -1;
    return to;
  }

  /**
   * Writes ring records to the spool, oldest first: with "all", the in-flight ones too (marked MOVED,
   * so a late ack is ignored and the spool's copy is published instead, with the same id). Nothing
   * is released before the spool is fsynced; a failed write releases nothing. Returns what moved;
   * the caller releases the ring up to `ringReleasable()` / the returned cursor.
   */
  moveRing(action: "unread" | "all"): MoveResult & { releaseTo: number } {
    const s = this.spool;
    const w = this.window;
    const v = this.views;
    const put = (pos: number) => s.append(v.bytes, pos, v.u32[(pos + REC_LEN) >>> 2]);
    const movedSlots: number[] = [];
    const start = this.consumer.cursor;
    let releaseTo = -1;
    let complete = true;
    const detached: number[] = [];
    if (action === "all") {
      for (let t = w.low; t < w.high && complete; t++) {
        const i = w.slot(t);
        if (w.from[i] !== FROM_RING) continue;
        if (w.state[i] === SENT) {
          if (!put(w.pos[i])) {
            complete = false;
            break;
          }
          w.state[i] = MOVED;
          movedSlots.push(i);
        }
        detached.push(i);
        releaseTo = w.end[i];
      }
    }
    let moved = movedSlots.length;
    while (complete) {
      const before = this.consumer.cursor;
      const pos = this.consumer.next();
      if (pos < 0) break;
      if (!put(pos)) {
        this.consumer.rewind(before);
        complete = false;
      } else {
        releaseTo = this.consumer.end;
        moved++;
      }
    }
    s.flush(true);
    if (s.error !== undefined) {
      // Not on disk: nothing moved, nothing released.
      for (const i of movedSlots) w.state[i] = SENT;
      this.consumer.rewind(start);
      return { moved: 0, complete: false, releaseTo: -1 };
    }
    v.counters[C.spooled] += moved;
    for (const i of detached) w.detach(i);
    if (action === "unread" && w.ringEntries > 0) {
      // Older ring records are still in flight: this space is freed once they are done (ringReleasable).
      if (releaseTo >= 0) this.pendingRingRelease = releaseTo;
      return { moved, complete, releaseTo: -1 };
    }
    // No ring record before a pending release is in flight now (unless "all" stopped part way).
    if (this.pendingRingRelease >= 0 && (action === "unread" || complete)) {
      if (releaseTo < 0 || ahead(this.pendingRingRelease, releaseTo)) releaseTo = this.pendingRingRelease;
      this.pendingRingRelease = -1;
    }
    return { moved, complete, releaseTo };
  }
}

/** True when u32 cursor `a` is at or past `b` (cursors wrap at 2^32; they are never a ring apart). */
export function ahead(a: number, b: number): boolean {
  return distance(b, a) <= 0x7fffffff;
}
