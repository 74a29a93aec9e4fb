// The watchdog's decision, on a ring in memory: when is a worker stalled, when is it only waiting.
import { describe, expect, it } from "vitest";
import { Counter, CTL_I32_WRITE, createRing, ringViews } from "../../src/ring/layout.ts";
import { FIRST_BEAT_MS, ProgressWatchdog, stallBoundMs } from "../../src/watchdog.ts";

function setup() {
  const v = ringViews(createRing(65_536, 1));
  const dog = new ProgressWatchdog(v, 2000);
  dog.reset(1_000_000);
  return { v, n: v.counters, dog, waiting: () => Atomics.store(v.ctl, CTL_I32_WRITE, 64) };
}

describe("progress watchdog", () => {
  it("derives its limit from publishTimeoutMs, never under 2 s", () => {
    expect(stallBoundMs(100)).toBe(2000);
    expect(stallBoundMs(5000)).toBe(15_000);
  });

  it("gives a new worker FIRST_BEAT_MS (or the limit if longer) for its first heartbeat, then wants heartbeats", () => {
    const { n, dog } = setup();
    expect(dog.check(1_002_001, false)).toBeUndefined(); // still starting: a slow start is not a stall
    expect(dog.check(1_000_000 + FIRST_BEAT_MS, false)).toBeUndefined();
    expect(dog.check(1_000_001 + FIRST_BEAT_MS, false)).toMatch(
      /has not started within 10\.0 s \(no first heartbeat\)/,
    );
    const long = new ProgressWatchdog(setup().v, 15_000);
    long.reset(1_000_000);
    expect(long.check(1_015_000, false)).toBeUndefined();
    expect(long.check(1_015_001, false)).toMatch(/has not started within 15\.0 s/);
    n[Counter.workerHeartbeat] = 1_002_500;
    expect(dog.check(1_004_000, false)).toBeUndefined();
    expect(dog.check(1_004_600, true)).toMatch(/event loop has not turned for 2\.1 s/);
  });

  it("flags a connected worker that acks and spools nothing while events wait, and only then", () => {
    const { n, dog, waiting } = setup();
    const beat = (t: number) => (n[Counter.workerHeartbeat] = t);
    beat(1_000_100);
    expect(dog.check(1_000_100, true)).toBeUndefined(); // nothing waits
    waiting();
    expect(dog.check(1_000_200, true)).toBeUndefined(); // the clock starts
    beat(1_001_500);
    n[Counter.acked] = 5; // progress: the clock starts again
    expect(dog.check(1_001_500, true)).toBeUndefined();
    beat(1_003_400);
    expect(dog.check(1_003_400, true)).toBeUndefined();
    expect(dog.check(1_003_400, false)).toBeUndefined(); // disconnected: not the worker's fault, clock restarts
    beat(1_005_000);
    expect(dog.check(1_005_000, true)).toBeUndefined();
    beat(1_005_401);
    expect(dog.check(1_005_401, true)).toMatch(/connected, but nothing acked or spooled for 2\.0 s while events wait/);
    n[Counter.spooled] = 10;
    expect(dog.check(1_005_402, true)).toBeUndefined();
  });

  it("names a stopped event loop as the cause when progress stopped too", () => {
    const { n, dog, waiting } = setup();
    n[Counter.workerHeartbeat] = 1_000_050;
    waiting();
    expect(dog.check(1_000_100, true)).toBeUndefined(); // the progress clock starts
    n[Counter.workerHeartbeat] = 1_000_900; // the loop's last turn, after it
    // Progress stopped 2.0 s ago, the heartbeat 1.2 s ago (over half the bound): the loop is the cause.
    expect(dog.check(1_002_101, true)).toMatch(/event loop has not turned for 1\.2 s/);
    n[Counter.workerHeartbeat] = 1_002_000; // a turning loop: the server is the cause
    expect(dog.check(1_002_102, true)).toMatch(/connected, but nothing acked or spooled for 2\.0 s/);
  });
});
