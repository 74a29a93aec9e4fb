import { describe, expect, it } from "vitest";
import { latencyPercentiles, mergeSnapshots } from "../../src/status.ts";
import { LatencyRecorder } from "../../workers/latency.ts";

describe("latency in status", () => {
  it("reads the worker's histograms with the settings they were recorded with, merged across workers", () => {
    const a = new LatencyRecorder();
    // capture -> ack, publish -> ack (ms): 100 fast acks, one at 2.5 s
    for (let i = 0; i < 100; i++) a.record(1000, 1000.5, 1001.25);
    a.record(0, 2000, 2500);
    const one = latencyPercentiles([a.snapshot()]);
    // 3 significant digits: a value reads back within 0.1%
    const near = (ms: number) => expect.toSatisfy((x: number) => Math.abs(x - ms) <= ms / 1000);
    expect(one.captureToAck).toMatchObject({ count: 101, p50: near(1.25), max: near(2500) });
    expect(one.publishToAck).toMatchObject({ count: 101, p50: near(0.75), max: near(500) });

    const b = new LatencyRecorder();
    for (let i = 0; i < 300; i++) b.record(0, 0, 40);
    const merged = mergeSnapshots(a.snapshot(), b.snapshot());
    const both = latencyPercentiles([merged]);
    expect(both.captureToAck).toMatchObject({ count: 401, p50: near(40), max: near(2500) });
    expect(latencyPercentiles([a.snapshot(), b.snapshot()])).toEqual(both);
  });
});
