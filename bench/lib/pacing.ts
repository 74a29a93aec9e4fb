// Open-loop load: every event has an intended time and is offered at it (or as soon after as the
// event loop allows), whatever happened to the events before it. Latency is measured from the
// intended time, so a slow system cannot hide its stalls by delaying the load (no coordinated
// omission).
//
// Precise without spinning: a timer (1 ms granularity, and often 1-2 ms late on a busy machine)
// covers all but the last FINE_MS before the next due time; the rest is a blocking Atomics.wait on
// this thread (the kernel's timer: ~0.1 ms late here, no CPU while it waits), then a spin of at most
// SPIN_MS. Each wait runs in a macrotask of its own (setImmediate), after the microtasks of the
// events just offered (the clients' flushes) and after one pass of the event loop for I/O (acks).
// The time blocked is returned: it is the generator's, not the mode's, and counts as idle time in
// the event-loop utilisation.
import { recordMs, type Histogram } from "./latency.ts";

export interface PacedPlan {
  /** performance.now() of the first event. */
  start: number;
  rate: number;
  /** Events offered together (1 = evenly spaced). */
  burst: number;
  count: number;
}

export interface PacedOutcome {
  /** Time this thread spent blocked in the generator's precise waits (ms). */
  blockedMs: number;
  /**
   * CPU time of this thread in those waits and spins (ms), each timed with process.threadCpuUsage()
   * (a ~3 µs system call here, counted in). A timed Atomics.wait costs 30-60 µs of CPU on this VM
   * (a sample of them misjudged the total by more than the host thread's own work at 1k events/s):
   * the generator's, not the mode's, so reported apart from the host thread's own.
   */
  cpuMs: number;
}

/** Closer than this to the next due time, the generator waits blocked instead of on a timer. */
export const FINE_MS = 1.5;
/** The last stretch before a due time is spun: a wait that short would overshoot it. */
const SPIN_MS = 0.02;

/**
 * What to add to performance.now() to get the wall clock (epoch ms) JetStream stamps stored messages
 * with, to ~0.01 ms. performance.timeOrigin + performance.now() is off by a constant set at process
 * start (0.16 ms here, enough to make events look stored before they were offered) and drifts
 * from the wall clock afterwards. So: the moment Date.now() ticks to a new millisecond is
 * caught against performance.now(), nine times, and the median kept (a sample the scheduler
 * interrupted is an outlier). Takes up to 9 ms, spinning: call it before measuring, not during.
 */
export function wallClockOffsetMs(): number {
  const samples: number[] = [];
  for (let k = 0; k < 9; k++) {
    const before = Date.now();
    let p: number;
    let d: number;
    do {
      p = performance.now();
      d = Date.now();
    } while (d === before);
    samples.push(d - p);
  }
  samples.sort((a, b) => a - b);
  return samples[4];
}

/** Intended performance.now() of event `i`. */
export function intendedAt(plan: PacedPlan, i: number): number {
  const group = Math.floor(i / plan.burst);
  return plan.start + (group * plan.burst * 1000) / plan.rate;
}

/**
 * Offers every event of `plan` through `fire`, recording how late each one was into `lag` (the generator's
 * lateness).
 */
export function runPaced(
  plan: PacedPlan,
  fire: (i: number) => void,
  lag: Histogram,
  onTick?: (sent: number) => void,
): Promise<PacedOutcome> {
  return new Promise((resolve) => {
    const sleeper = new Int32Array(new SharedArrayBuffer(4)); // never notified: a precise sleep
    let i = 0;
    let blockedMs = 0;
    const offerDue = () => {
      while (i < plan.count) {
        const due = intendedAt(plan, i);
        const now = performance.now();
        if (due > now) break;
        fire(i);
        recordMs(lag, now - due);
        i++;
      }
      onTick?.(i);
    };
    let cpuUs = 0;
    const fine = () => {
      const due = intendedAt(plan, i);
      const cpu0 = process.threadCpuUsage();
      const left = due - performance.now();
      if (left > SPIN_MS) {
        const t = performance.now();
        Atomics.wait(sleeper, 0, 0, left - SPIN_MS);
        blockedMs += performance.now() - t;
      }
      while (performance.now() < due) {
        // at most SPIN_MS
      }
      const d = process.threadCpuUsage(cpu0);
      cpuUs += d.user + d.system;
      step();
    };
    const step = () => {
      offerDue();
      if (i >= plan.count) {
        resolve({ blockedMs, cpuMs: cpuUs / 1000 });
        return;
      }
      const left = intendedAt(plan, i) - performance.now();
      if (left > FINE_MS) setTimeout(fine, Math.floor(left - FINE_MS));
      else setImmediate(fine);
    };
    const left = plan.start - performance.now();
    if (left > FINE_MS) setTimeout(fine, Math.floor(left - FINE_MS));
    else setImmediate(fine);
  });
}
