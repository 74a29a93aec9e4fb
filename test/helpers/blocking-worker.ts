// Test stand-in for workers/publisher.ts: the real publisher, except that the first worker of a
// pipeline blocks its event loop for good once 100 events are acked (as a runaway loop or a
// synchronous call that never returns would). Its successors run normally.
import { workerData } from "node:worker_threads";
import { Counter, ringViews } from "../../src/ring/layout.ts";
import type { WorkerData } from "../../src/worker-protocol.ts";

const counters = ringViews((workerData as WorkerData).sab).counters;
const first = counters[Counter.workerStarts] === 1;
await import("../../workers/publisher.ts");
if (first) {
  const check = setInterval(() => {
    if (counters[Counter.acked] < 100) return;
    clearInterval(check);
    for (;;); // never yields again
  }, 5);
}
