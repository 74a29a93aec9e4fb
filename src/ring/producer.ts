// The host-thread side of the ring. Single producer: only the host's event loop calls it.
// It never blocks and never waits: a record that does not fit is refused (the caller counts the drop).
import {
  CTL_I32_RELEASE,
  CTL_I32_SLEEPING,
  CTL_I32_WRITE,
  SKIP_MARKER,
  align8,
  setRecordLength,
  type RingViews,
} from "./layout.ts";

export class RingProducer {
  private readonly v: RingViews;
  private write: number; // our own cursor (bytes); CTL_I32_WRITE is its published copy
  private releaseSeen: number; // last release cursor read, refreshed only when the ring looks full
  private skip = 0; // bytes to mark as skipped at the end of the ring by the pending commit

  constructor(views: RingViews) {
    this.v = views;
    this.write = Atomics.load(views.ctl, CTL_I32_WRITE) >>> 0;
    this.releaseSeen = Atomics.load(views.ctl, CTL_I32_RELEASE) >>> 0;
  }

  /**
   * Reserves room for a record of at most `maxLen` bytes and returns the byte offset to write it
   * at, or -1 when the ring has no room. A record is contiguous: when it would straddle the end,
   * the tail is skipped and the record starts at offset 0.
   */
  reserve(maxLen: number): number {
    const v = this.v;
    const need = align8(maxLen);
    const pos = this.write & v.mask;
    const tail = v.capacity - pos;
    const skip = need > tail ? tail : 0;
    // Reading the consumer's cursor touches its cache line: only do it when the cached one says full.
    if (((this.write - this.releaseSeen) >>> 0) + skip + need > v.capacity) {
      this.releaseSeen = Atomics.load(v.ctl, CTL_I32_RELEASE) >>> 0;
      if (((this.write - this.releaseSeen) >>> 0) + skip + need > v.capacity) return -1;
    }
    this.skip = skip;
    return skip === 0 ? pos : 0;
  }

  /** Publishes the record written at the reserved offset; `len` is its real length (<= maxLen). */
  commit(len: number): void {
    const v = this.v;
    const pos = this.write & v.mask;
    let start = pos;
    if (this.skip !== 0) {
      setRecordLength(v, pos, SKIP_MARKER);
      start = 0;
    }
    setRecordLength(v, start, len);
    this.write = (this.write + this.skip + align8(len)) >>> 0;
    this.skip = 0;
    Atomics.store(v.ctl, CTL_I32_WRITE, this.write | 0); // bytes first, cursor last
    // Wake the worker only if it said it is going to sleep; one notify per sleep.
    if (Atomics.load(v.ctl, CTL_I32_SLEEPING) === 1 && Atomics.compareExchange(v.ctl, CTL_I32_SLEEPING, 1, 0) === 1) {
      Atomics.notify(v.ctl, CTL_I32_WRITE, 1);
    }
  }
}
