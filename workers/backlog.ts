// Coordination between the ring and the disk spool: when ring records must go to disk, moving them
// there in capture order, replaying the spool before the ring, and tracking each segment's acked
// progress until it can be retired. It holds no connection: the publisher asks it what to publish
// next and tells it what JetStream has stored.
import { Counter, distance, recordLength, type RingViews } from "../src/ring/layout.ts";
import type { RingConsumer } from "../src/ring/consumer.ts";
import { FROM_RING, MOVED, OUTCOME_ACKED, OUTCOME_DUPLICATE, OUTCOME_OWN, SENT, type AckWindow } from "./ack-window.ts";
import { emptyTally, type ReplaySegment, type Spool } from "./spool.ts";

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
 * half full and JetStream is not taking its records (not connected, refusing, not acking) or the
 * ring must wait behind a spool replay anyway (then from a quarter of that mark), its records go to
 * disk rather than being dropped when it fills; when JetStream is merely slower than the host, only
 * once the ring is nearly full. Records in flight go too: re-publishing them later costs duplicates
 * that JetStream removes, never a loss.
 */
export function ringMustSpool(s: RingState): boolean {
  if (s.used < (s.backlog ? s.spoolMark >>> 2 : s.spoolMark)) return false;
  if (!s.canPublish || s.refusing || s.backlog || s.msSinceRingRelease >= RING_STALL_MS) return true;
  return s.used >= s.capacity - (s.capacity >>> 3);
}

interface MoveResult {
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

  /**
   * Spool records released (stored or given up), in publish order, with their outcomes (OUTCOME_*
   * bits): their segments' progress moves on.
   */
  released(segments: readonly ReplaySegment[], outcomes: readonly number[]): void {
    for (let k = 0; k < segments.length; k++) {
      const seg = segments[k];
      const o = outcomes[k];
      const t = seg.uncounted;
      if (o & OUTCOME_ACKED) {
        if (o & OUTCOME_OWN) t.ownAcked++;
        else t.earlierAcked++;
        if (o & OUTCOME_DUPLICATE) t.duplicates++;
      } else if (o & OUTCOME_OWN) t.ownDropped++;
      else t.earlierDropped++;
      seg.released++;
      if (this.spool.finished(seg)) this.retire(seg);
      else this.spool.progressed(seg);
    }
  }

  /** Saves replay progress, and counts in status the outcomes that the saved marks now cover. */
  saveProgress(): void {
    this.spool.saveProgress((seg) => this.count(seg));
  }

  private retire(seg: ReplaySegment): void {
    const i = this.replaying.indexOf(seg);
    if (i >= 0) this.replaying.splice(i, 1);
    this.spool.retire(seg);
    this.count(seg);
  }

  private count(seg: ReplaySegment): void {
    const t = seg.uncounted;
    const c = this.views.counters;
    c[Counter.acked] += t.ownAcked;
    c[Counter.recovered] += t.earlierAcked;
    c[Counter.duplicates] += t.duplicates;
    c[Counter.undeliverable] += t.ownDropped;
    c[Counter.recoveredDropped] += t.earlierDropped;
    seg.uncounted = emptyTally();
  }

  /**
   * Writes the ring's unreleased records to the spool, oldest first: those in flight (marked MOVED,
   * so a late ack is ignored and the spool's copy is published instead, with the same id) and those
   * not published yet. Nothing is released before the spool is fsynced; a failed write moves
   * nothing. Returns what moved and the ring cursor the caller may release up to (-1: none).
   */
  moveRing(): MoveResult & { releaseTo: number } {
    const s = this.spool;
    const w = this.window;
    const v = this.views;
    const put = (pos: number) => s.append(v.bytes, pos, recordLength(v, pos));
    const movedSlots: number[] = [];
    const passed: number[] = [];
    const start = this.consumer.cursor;
    let releaseTo = -1;
    let complete = true;
    for (let t = w.low; t < w.high; t++) {
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
      passed.push(i);
      releaseTo = w.end[i];
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
    v.counters[Counter.spooled] += moved;
    // Their ring space is given back now; acked ones among them are still counted when released.
    for (const i of passed) w.detach(i);
    return { moved, complete, releaseTo };
  }
}

/** True when u32 cursor `a` is at or past `b` (cursors wrap at 2^32; they are never a ring apart). */
export function ahead(a: number, b: number): boolean {
  return distance(b, a) <= 0x7fffffff;
}
