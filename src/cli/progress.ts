// A progress bar on stderr for long replays: redrawn in place five times a second, only on a
// terminal, and only once a replay has run for a second (short ones stay quiet).
import type { Writable } from "node:stream";

const WIDTH = 24;

export class ProgressBar {
  private readonly err: Writable;
  private readonly total: number;
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private readonly done: () => number;
  /** Extra text after the counts (e.g. acks). */
  note = "";

  private readonly what: string;

  /** `done()` tells how far the work is, out of `total`. */
  constructor(err: Writable, total: number, done: () => number, what = "events") {
    this.err = err;
    this.total = total;
    this.done = done;
    this.what = what;
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  private draw(): void {
    const sec = (performance.now() - this.started) / 1000;
    if (sec < 1) return;
    const done = this.done();
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const rate = done / sec;
    const eta = rate > 0 && this.total > done ? ` ETA ${Math.ceil((this.total - done) / rate)} s` : "";
    const bar = "#".repeat(Math.round(frac * WIDTH)).padEnd(WIDTH, "-");
    const n = (x: number) => Math.round(x).toLocaleString("en-US");
    this.err.write(
      `\r\x1b[K[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${n(done)}/${n(this.total)} ${this.what}` +
        `  ${n(rate)}/s${eta}${this.note ? `  ${this.note}` : ""}`,
    );
    this.shown = true;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.shown) this.err.write("\r\x1b[K");
  }
}
