// Open-loop load: every event has an intended time and is offered at it (or as soon after as the
// event loop allows), whatever happened to the events before it. Latency is measured from the
// intended time, so a slow system cannot hide its stalls by delaying the load (no coordinated
// omission). The generator sleeps with timers between due events: it never spins.
import { recordMs, type Histogram } from "./latency.ts";

export interface PacedPlan {
  /** performance.now() of the first event. */
  start: number;
  rate: number;
  /** Events offered together (1 = evenly spaced). */
  burst: number;
  count: number;
}

/** Intended performance.now() of event `i`. */
export function intendedAt(plan: PacedPlan, i: number): number {
  const group = Math.floor(i / plan.burst);
  return plan.start + (group * plan.burst * 1000) / plan.rate;
}

/** Offers every event of `plan` through `fire`, recording how late each one was into `lag`. */
export function runPaced(
  plan: PacedPlan,
  fire: (i: number) => void,
  lag: Histogram,
  onTick?: (sent: number) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const tick = () => {
      while (i < plan.count) {
        const due = intendedAt(plan, i);
        const now = performance.now();
        if (due > now) break;
        fire(i);
        recordMs(lag, now - due);
        i++;
      }
      onTick?.(i);
      if (i >= plan.count) resolve();
      else setTimeout(tick, Math.max(0, intendedAt(plan, i) - performance.now()));
    };
    setTimeout(tick, Math.max(0, plan.start - performance.now()));
  });
}
