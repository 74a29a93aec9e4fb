// The replay bench runs end to end with small counts (the 1,000,000-event measurement is
// `npm run bench:replay`, not a test): every replay printed what it should, the tail printed every
// event published while it ran, and the results file is well formed. No speed thresholds.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runReplayBench } from "../../bench/replay.ts";
import { ensureBuilt } from "../helpers/read-fixture.ts";

const out = mkdtempSync(join(tmpdir(), "replay-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run bench:replay", () => {
  it("fills, replays four ways, tails while publishing, and writes replay.json", async () => {
    ensureBuilt();
    const lines: string[] = [];
    const r = await runReplayBench({ count: 20_000, tailSeconds: 1, outDir: out, log: (l) => lines.push(l) });
    const json = JSON.parse(readFileSync(join(out, "replay.json"), "utf8"));
    expect(json).toEqual(JSON.parse(JSON.stringify(r)));
    expect(r.fill.events).toBe(20_000);
    expect(r.replays.map((x) => x.name)).toHaveLength(4);
    expect(r.replays[0]).toMatchObject({ events: 20_000 });
    for (const x of r.replays) expect(x.eventsPerSec).toBeGreaterThan(0);
    expect(r.tail.published).toBeGreaterThan(0);
    expect(r.tail.received).toBe(r.tail.published);
    expect(lines.join("\n")).toMatch(/\| replay --json \(all\) \| 20,000 \|/);
  }, 180_000);
});
