// A session's timeline (src/read/timeline.ts): its run count says how many runs the session had, each
// once, whatever the stream holds of them.
import { describe, expect, it } from "vitest";
import type { Envelope } from "../../src/envelope.ts";
import { buildTimeline } from "../../src/read/timeline.ts";

let ts = 1_000;
const ev = (type: string, payload: Record<string, unknown> = {}): Envelope => ({
  id: `id-${ts}`,
  ts: ts++,
  agent: "main",
  session: "agent:main:main",
  type,
  payload,
});

describe("a session timeline's runs", () => {
  it("counts a run once when the host starts it again (a retry keeps its runId)", () => {
    const t = buildTimeline("agent:main:main", [
      ev("run.start", { runId: "run-a" }),
      ev("model.call_end", { runId: "run-a" }),
      ev("run.start", { runId: "run-a" }),
      ev("model.call_end", { runId: "run-a" }),
      ev("run.end", { runId: "run-a", success: true, durationMs: 5 }),
      ev("run.start", { runId: "run-b" }),
      ev("run.end", { runId: "run-b", success: false }),
    ]);
    expect(t.totals).toMatchObject({ runs: 2, failedRuns: 1, llmCalls: 2 });
    expect(t.runs.map((r) => [r.runId, r.start, r.llmCalls, r.success])).toEqual([
      ["run-a", 1000, 2, true],
      ["run-b", 1005, 0, false],
    ]);
  });

  it("counts a run whose start is outside the window, and runs without a runId, without failing", () => {
    const t = buildTimeline("agent:main:main", [
      ev("run.end", { runId: "run-c", success: true }),
      ev("run.start", {}),
      ev("run.end", {}),
      ev("run.start", { runId: 42 }),
    ]);
    // run-c; the start without an id; its end (nothing ties the two); the start whose id is not a string
    expect(t.totals.runs).toBe(4);
    expect(t.entries.map((e) => e.type)).toEqual(["run.end", "run.start", "run.end", "run.start"]);
  });
});
