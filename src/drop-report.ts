// One warning line when events are dropped, at most every REPORT_EVERY_MS: a hook never logs (it
// runs on the gateway's thread, possibly thousands of times a second), so the supervisor's timer
// looks at the drop counters and says what happened since its last line.
import { Counter, type RingViews } from "./ring/layout.ts";

const REPORT_EVERY_MS = 10_000;

export class DropReporter {
  private readonly views: RingViews;
  private seen = { ringFull: 0, tooLarge: 0, rejected: 0, undeliverable: 0 };
  private lastAt = -Infinity;

  constructor(views: RingViews) {
    this.views = views;
  }

  /** The line to log at `now` (ms) about drops since the last line, or undefined. */
  check(now: number): string | undefined {
    if (now - this.lastAt < REPORT_EVERY_MS) return undefined;
    const n = this.views.counters;
    const now_ = {
      ringFull: n[Counter.droppedRingFull],
      tooLarge: n[Counter.droppedTooLarge],
      rejected: n[Counter.rejected],
      undeliverable: n[Counter.undeliverable],
    };
    const parts: string[] = [];
    if (now_.ringFull > this.seen.ringFull) {
      parts.push(`${now_.ringFull - this.seen.ringFull} because the ring was full (the spool full, failing or off)`);
    }
    if (now_.tooLarge > this.seen.tooLarge) parts.push(`${now_.tooLarge - this.seen.tooLarge} too large for the ring`);
    if (now_.rejected > this.seen.rejected)
      parts.push(`${now_.rejected - this.seen.rejected} that could not be encoded`);
    if (now_.undeliverable > this.seen.undeliverable) {
      parts.push(`${now_.undeliverable - this.seen.undeliverable} larger than the server's max_payload`);
    }
    this.seen = now_;
    if (parts.length === 0) return undefined;
    this.lastAt = now;
    return `events dropped: ${parts.join(", ")}; see /eventstatus`;
  }
}
