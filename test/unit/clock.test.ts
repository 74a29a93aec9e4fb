import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";

// Latency is measured from a timestamp taken on the host thread to one taken in the worker, so
// both must read the same clock. performance.timeOrigin + performance.now() is that clock: this
// test asks a worker for its reading between two host readings.
describe("shared clock", () => {
  it("reads the same in the host thread and in a worker", async () => {
    const sab = new SharedArrayBuffer(16);
    const flag = new Int32Array(sab, 0, 1);
    const value = new Float64Array(sab, 8, 1);
    const code = `
      const { workerData } = require("node:worker_threads");
      const flag = new Int32Array(workerData, 0, 1), value = new Float64Array(workerData, 8, 1);
      for (;;) { Atomics.wait(flag, 0, 0); if (flag[0] === 2) break; value[0] = performance.timeOrigin + performance.now(); Atomics.store(flag, 0, 0); Atomics.notify(flag, 0); }`;
    const w = new Worker(code, { eval: true, workerData: sab });
    await new Promise((r) => setTimeout(r, 200));
    let best = { rtt: Infinity, skew: 0 };
    for (let i = 0; i < 50; i++) {
      const a = performance.timeOrigin + performance.now();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      while (Atomics.load(flag, 0) !== 0);
      const b = performance.timeOrigin + performance.now();
      if (b - a < best.rtt) best = { rtt: b - a, skew: value[0] - (a + b) / 2 };
    }
    Atomics.store(flag, 0, 2);
    Atomics.notify(flag, 0);
    await w.terminate();
    expect(Math.abs(best.skew)).toBeLessThanOrEqual(best.rtt / 2 + 0.05);
  });
});
