import { describe, expect, it } from "vitest";
import { Counter, createRing, ringViews } from "../../src/ring/layout.ts";
import { DropReporter } from "../../src/drop-report.ts";

describe("drop reports", () => {
  it("says what was dropped since its last line, at most every 10 s, and nothing when nothing was", () => {
    const v = ringViews(createRing(65_536, 1));
    const r = new DropReporter(v);
    expect(r.check(0)).toBeUndefined();
    v.counters[Counter.droppedRingFull] = 120;
    v.counters[Counter.rejected] = 3;
    expect(r.check(1000)).toBe(
      "events dropped: 120 because the ring was full (the spool full, failing or off), 3 that could not be encoded; see /eventstatus",
    );
    v.counters[Counter.droppedRingFull] = 130;
    expect(r.check(5000)).toBeUndefined(); // within 10 s of the last line
    expect(r.check(11_000)).toBe(
      "events dropped: 10 because the ring was full (the spool full, failing or off); see /eventstatus",
    );
    expect(r.check(30_000)).toBeUndefined();
  });
});
