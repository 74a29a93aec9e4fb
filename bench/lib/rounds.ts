// Latency at a fixed rate moves a lot from one run to the next on a small shared machine: the p99
// of a 5-second run at 10k events/s is its 500 slowest events, and one scheduling hiccup of the
// host thread or the server decides it (here: the ceiling's own p99 went 4.5, 16.6, 6.0 and 8.9 ms
// in four runs of one afternoon). `npm run bench -- --rounds N` runs the chosen scenarios N times,
// the modes in a rotating order, and compares the modes round by round: each round's offloaded
// p99 minus the ceiling's p99 of the same round, then the median over the rounds.
import type { Row } from "./results.ts";
import { median } from "./median.ts";
import { fmtMs } from "./table.ts";

/** A row of a run of several rounds: which round (1-based) it came from. */
export type RoundRow = Row & { round?: number };

interface ModeRounds {
  /** p99 (intended -> stored) of each round, in round order; null where the run failed. */
  p99Ms: (number | null)[];
  medianP99Ms: number | null;
  /** The load generator's lateness p99 and the offered -> stored p99, medians over the rounds. */
  medianGenLateP99Ms: number | null;
  medianFromOfferP99Ms: number | null;
}

export interface ScenarioRounds {
  scenario: string;
  modes: Record<string, ModeRounds>;
  /** Offloaded p99 minus the ceiling's p99, round by round (rounds where both ran). */
  offloadedMinusCeilingMs: number[];
  medianOffloadedMinusCeilingMs: number | null;
  /** Rounds in which the offloaded p99 was within 1 ms of the ceiling's. */
  roundsWithin1Ms: number;
}

export interface RoundsSummary {
  rounds: number;
  scenarios: ScenarioRounds[];
}

/** The median, or null when there is nothing to take it of. */
export const medianOrNull = (xs: readonly number[]): number | null => (xs.length === 0 ? null : median(xs));

const present = (xs: readonly (number | null | undefined)[]) => xs.filter((x): x is number => typeof x === "number");
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** The paced scenarios (latency from each event's intended time) of a run of `rounds` rounds. */
export function summarizeRounds(rows: readonly RoundRow[], rounds: number): RoundsSummary {
  const paced = rows.filter((r) => r.latencyBasis === "intended->stored");
  const scenarios: ScenarioRounds[] = [];
  for (const scenario of [...new Set(paced.map((r) => r.scenario))]) {
    const of = (mode: string) => paced.filter((r) => r.scenario === scenario && r.mode === mode);
    const modes: Record<string, ModeRounds> = {};
    for (const mode of [...new Set(paced.filter((r) => r.scenario === scenario).map((r) => r.mode))]) {
      const xs = of(mode);
      modes[mode] = {
        p99Ms: xs.map((r) => (r.verified ? r.p99Ms : null)),
        medianP99Ms: medianOrNull(present(xs.map((r) => (r.verified ? r.p99Ms : null)))),
        medianGenLateP99Ms: medianOrNull(present(xs.map((r) => r.genLateP99Ms))),
        medianFromOfferP99Ms: medianOrNull(present(xs.map((r) => r.fromOfferP99Ms))),
      };
    }
    const diffs: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const o = of("offloaded").find((r) => (r.round ?? 1) === round);
      const c = of("ceiling").find((r) => (r.round ?? 1) === round);
      if (o?.verified && c?.verified && o.p99Ms !== null && c.p99Ms !== null) diffs.push(r3(o.p99Ms - c.p99Ms));
    }
    const med = medianOrNull(diffs);
    scenarios.push({
      scenario,
      modes,
      offloadedMinusCeilingMs: diffs,
      medianOffloadedMinusCeilingMs: med === null ? null : r3(med),
      roundsWithin1Ms: diffs.filter((d) => d <= 1).length,
    });
  }
  return { rounds, scenarios };
}

/** The lines the run prints at its end. */
export function roundsLines(s: RoundsSummary): string[] {
  const out: string[] = [`Latency at fixed rates over ${s.rounds} rounds (p99 intended -> stored, ms):`];
  for (const x of s.scenarios) {
    for (const [mode, m] of Object.entries(x.modes)) {
      const each = m.p99Ms.map((v) => (v === null ? "failed" : fmtMs(v))).join(", ");
      out.push(
        `  ${`${x.scenario} ${mode}`.padEnd(22)} median ${fmtMs(m.medianP99Ms)} (${each}); ` +
          `generator late p99 ${fmtMs(m.medianGenLateP99Ms)}, offered -> stored p99 ${fmtMs(m.medianFromOfferP99Ms)}`,
      );
    }
    if (x.offloadedMinusCeilingMs.length > 0)
      out.push(
        `  ${x.scenario}: offloaded minus ceiling, round by round: ` +
          `${x.offloadedMinusCeilingMs.map(fmtMs).join(", ")}; median ${fmtMs(x.medianOffloadedMinusCeilingMs)} ms; ` +
          `within 1 ms in ${x.roundsWithin1Ms} of ${x.offloadedMinusCeilingMs.length} rounds`,
      );
  }
  return out;
}
