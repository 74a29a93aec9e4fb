import { describe, expect, it } from "vitest";
import { RateWindow } from "../../src/rate-window.ts";

describe("rate window", () => {
  it("gives rates over the last minute, and reading them changes nothing", () => {
    const w = new RateWindow();
    for (let t = 0; t <= 120_000; t += 1000) w.sample(t, t / 10, t / 20); // 100/s captured, 50/s acked
    const first = w.rates(120_000, 12_000, 6_000);
    expect(first).toEqual({ capturedPerSec: 100, ackedPerSec: 50, windowSec: 60 });
    expect(w.rates(120_000, 12_000, 6_000)).toEqual(first); // a second reader sees the same window
  });

  it("covers what it has just after a start, and nothing before the first sample", () => {
    const w = new RateWindow();
    expect(w.rates(0, 0, 0)).toEqual({ capturedPerSec: 0, ackedPerSec: 0, windowSec: 0 });
    w.sample(0, 0, 0);
    w.sample(500, 999, 999); // within a second of the last sample: not kept
    expect(w.rates(5000, 500, 250)).toEqual({ capturedPerSec: 100, ackedPerSec: 50, windowSec: 5 });
  });
});
