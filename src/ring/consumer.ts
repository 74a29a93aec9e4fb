// The worker side of the ring. Single consumer. Reading a record does not free it: space is given
// back only by release(), which the publisher calls once JetStream has acked everything before it.
import {
  CTL_I32_RELEASE,
  CTL_I32_SLEEPING,
  CTL_I32_WRITE,
  Counter,
  SKIP_MARKER,
  align8,
  recordLength,
  ringUsed,
  type RingViews,
} from "./layout.ts";

export class RingConsumer {
  private readonly v: RingViews;
  /** Cursor of the next record to read (a u32 byte counter, like the control words). */
  cursor: number;
  /** After next(): cursor just past the record returned (what to release once it is acked). */
  end = 0;

  constructor(views: RingViews) {
    this.v = views;
    // A (re)started worker resumes at the release cursor: everything after it is unacked.
    this.cursor = Atomics.load(views.ctl, CTL_I32_RELEASE) >>> 0;
  }

  /** Byte offset of the next record, or -1 when nothing more has been written. */
  next(): number {
    const v = this.v;
    const write = Atomics.load(v.ctl, CTL_I32_WRITE) >>> 0;
    while (this.cursor !== write) {
      const pos = this.cursor & v.mask;
      const len = recordLength(v, pos);
      if (len === SKIP_MARKER) {
        this.cursor = (this.cursor + v.capacity - pos) >>> 0;
        continue;
      }
      this.end = (this.cursor + align8(len)) >>> 0;
      this.cursor = this.end;
      return pos;
    }
    return -1;
  }

  /** True when the producer has written past the cursor (next() has a record to return). */
  hasData(): boolean {
    return Atomics.load(this.v.ctl, CTL_I32_WRITE) >>> 0 !== this.cursor;
  }

  /** Reads again from `cursor` (records not yet released). */
  rewind(cursor: number): void {
    this.cursor = cursor >>> 0;
  }

  /** Frees every byte before `cursor` for the producer. */
  release(cursor: number): void {
    Atomics.store(this.v.ctl, CTL_I32_RELEASE, cursor | 0);
  }

  /** Bytes written and not yet released. */
  used(): number {
    return ringUsed(this.v);
  }

  /**
   * Records the bytes in use now if they are the most so far. The consumer knows both cursors
   * exactly (the producer only sees a release cursor it refreshes when the ring looks full), so the
   * worker samples it each time it looks at the ring.
   */
  noteHighWater(): number {
    const used = ringUsed(this.v);
    const c = this.v.counters;
    if (used > c[Counter.ringHighWater]) c[Counter.ringHighWater] = used;
    return used;
  }

  /**
   * Waits until the producer writes past our cursor or `timeoutMs` passes. Uses waitAsync so the
   * worker's own event loop (NATS socket, timers) keeps running meanwhile.
   */
  waitForData(timeoutMs: number): Promise<"ok" | "timed-out"> | null {
    const ctl = this.v.ctl;
    Atomics.store(ctl, CTL_I32_SLEEPING, 1);
    const write = Atomics.load(ctl, CTL_I32_WRITE);
    if (write >>> 0 !== this.cursor) {
      Atomics.store(ctl, CTL_I32_SLEEPING, 0);
      return null;
    }
    const r = Atomics.waitAsync(ctl, CTL_I32_WRITE, write, timeoutMs);
    if (!r.async) {
      Atomics.store(ctl, CTL_I32_SLEEPING, 0);
      return null;
    }
    return r.value.then((outcome) => {
      Atomics.store(ctl, CTL_I32_SLEEPING, 0);
      return outcome;
    });
  }
}

/** Records written and not yet released (walks the ring; for reports, not for the hot path). */
export function recordsInRing(views: RingViews): number {
  const c = new RingConsumer(views);
  let n = 0;
  while (c.next() >= 0) n++;
  return n;
}
