// Consumer side of the ring stress test: reads every record, checks it byte for byte against the
// pattern the producer wrote for that sequence number, and releases it at once.
import { workerData } from "node:worker_threads";
import { ringViews } from "../../src/ring/layout.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import { patternByte, STRESS } from "./ring-pattern.ts";

const { sab, total, results } = workerData as { sab: SharedArrayBuffer; total: number; results: SharedArrayBuffer };
const v = ringViews(sab);
const consumer = new RingConsumer(v);
const out = new Int32Array(results);
let expected = 0;
// A pending Atomics.waitAsync does not keep a worker's event loop alive; a timer does.
const keepAlive = setInterval(() => {}, 1000);

async function run(): Promise<void> {
  while (expected < total) {
    const pos = consumer.next();
    if (pos < 0) {
      const wait = consumer.waitForData(2000);
      if (wait) await wait;
      continue;
    }
    const len = v.u32[pos >>> 2];
    const seq = v.u32[(pos >>> 2) + 1];
    if (seq !== expected) {
      out[STRESS.errors]++;
      out[STRESS.firstBadSeq] = expected;
      break;
    }
    for (let k = 8; k < len; k++) {
      if (v.bytes[pos + k] !== patternByte(seq, k)) {
        out[STRESS.errors]++;
        out[STRESS.firstBadSeq] = seq;
        break;
      }
    }
    consumer.release(consumer.end);
    expected++;
    out[STRESS.read] = expected;
  }
  clearInterval(keepAlive);
  Atomics.store(out, STRESS.done, 1);
  Atomics.notify(out, STRESS.done);
}
void run();
