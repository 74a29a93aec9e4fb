// Event rates over the last minute, from time-stamped samples of the counters. Reading a rate
// changes nothing: /eventstatus, eventstore.status and tests that poll status no longer shorten
// each other's window (status used to reset it on every read).

const WINDOW_MS = 60_000;
const SAMPLE_EVERY_MS = 1000;
const SLOTS = WINDOW_MS / SAMPLE_EVERY_MS + 2;

export interface Rates {
  capturedPerSec: number;
  ackedPerSec: number;
  /** The span the rates cover (up to 60 s; shorter just after the start). */
  windowSec: number;
}

export class RateWindow {
  private readonly at = new Float64Array(SLOTS);
  private readonly captured = new Float64Array(SLOTS);
  private readonly acked = new Float64Array(SLOTS);
  /** Index of the newest sample; `size` samples are held, oldest at (newest - size + 1). */
  private newest = -1;
  private size = 0;

  /** Records the counters at `now` (ms) if the last sample is a second old or more. */
  sample(now: number, captured: number, acked: number): void {
    if (this.size > 0 && now - this.at[this.newest] < SAMPLE_EVERY_MS) return;
    this.newest = (this.newest + 1) % SLOTS;
    this.at[this.newest] = now;
    this.captured[this.newest] = captured;
    this.acked[this.newest] = acked;
    if (this.size < SLOTS) this.size++;
  }

  /** Rates between the oldest sample within the window and the counters at `now`. */
  rates(now: number, captured: number, acked: number): Rates {
    let oldest = -1;
    for (let k = this.size - 1; k >= 0; k--) {
      const i = (this.newest - k + SLOTS) % SLOTS;
      if (now - this.at[i] <= WINDOW_MS) {
        oldest = i;
        break;
      }
    }
    if (oldest < 0 || now <= this.at[oldest]) return { capturedPerSec: 0, ackedPerSec: 0, windowSec: 0 };
    const sec = (now - this.at[oldest]) / 1000;
    return {
      capturedPerSec: Math.round((captured - this.captured[oldest]) / sec),
      ackedPerSec: Math.round((acked - this.acked[oldest]) / sec),
      windowSec: Math.round(sec * 10) / 10,
    };
  }
}
