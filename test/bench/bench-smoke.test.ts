// The benchmark suite runs end to end: the quick bench's smallest scenario, every mode, against a
// real nats-server (the bench starts its own, the current release, unless NATS_URL is set), and the
// limit mode (the Go `nats bench` tool the project builds). It checks the shape of the JSON, the CPU
// split and the vsLimit ratio, and that every mode acked and stored every event. No speed thresholds:
// the machine is shared.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBench } from "../../bench/run.ts";
import { LIMIT, MODES } from "../../bench/lib/types.ts";
import { natsServerRelease } from "../helpers/nats-server.ts";
import { natsTools } from "../helpers/nats-tools.ts";

const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run bench", () => {
  it("runs the quick sequential and rate-1k scenarios in every mode and writes well-formed results", async () => {
    const lines: string[] = [];
    const outcome = await runBench({
      quick: true,
      only: "sequential,rate-1k",
      outDir: out,
      log: (l) => lines.push(l),
      progress: false,
    });

    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
    expect(json.header).toMatchObject({ quick: true, only: ["sequential", "rate-1k"] });
    for (const key of ["date", "node", "natsServer", "cpu"]) expect(typeof json.header[key]).toBe("string");
    expect(Number.isNaN(Date.parse(json.header.date))).toBe(false);
    expect(json.header.node).toBe(process.version);
    // By default the bench embeds the current nats-server release and says which one ran.
    expect(json.header.natsServerBin).toBe(natsTools().natsServer);
    expect(json.header.natsServer).toBe(natsServerRelease(natsTools().natsServer).join("."));

    // The limit mode: the project's `nats` CLI, `js pub sync` for the sequential caller.
    expect(json.header.limitTool).toMatchObject({ bin: natsTools().nats, version: expect.stringMatching(/\d+\.\d+/) });
    // ... and n/a at a fixed rate: no limit row there, and why is in the report.
    expect(json.scenarios).toEqual([
      expect.objectContaining({ id: "sequential", limit: { tool: "sync" } }),
      expect.objectContaining({ id: "rate-1k", limit: { na: expect.stringContaining("intended time") } }),
    ]);
    const seq = json.results.filter((r: { scenario: string }) => r.scenario === "sequential");
    const paced = json.results.filter((r: { scenario: string }) => r.scenario === "rate-1k");
    expect(seq.map((r: { mode: string }) => r.mode).sort()).toEqual([...MODES, LIMIT].sort());
    expect(paced.map((r: { mode: string }) => r.mode).sort()).toEqual([...MODES].sort());
    const limit = seq.find((r: { mode: string }) => r.mode === LIMIT);
    expect(limit).toMatchObject({ scenario: "sequential", acked: limit.events, stored: limit.events, verified: true });
    expect(limit.events).toBe(seq.find((r: { mode: string }) => r.mode === "ceiling").events);
    expect(limit.eventsPerSec).toBeGreaterThan(0);
    expect(limit.vsLimit).toBe(1);
    expect(limit.notes[0]).toMatch(/^nats bench js pub sync .* --dedup /);
    // The Go tool's CPU and the server's: host-side figures do not exist there.
    expect(limit.cpuMsPer1k.tool).toBeGreaterThan(0);
    expect(limit.cpuMsPer1k.server).toBeGreaterThan(0);
    expect(limit).toMatchObject({ p99Ms: null, hostNsPerEvent: null, loopDelayP99Ms: null, rssMb: null });
    expect(limit.cpuMsPer1k).toMatchObject({ host: null, worker: null, otherThreads: null });

    for (const r of json.results.filter((x: { mode: string }) => x.mode !== LIMIT)) {
      for (const key of [
        "eventsPerSec",
        "p50Ms",
        "p99Ms",
        "p999Ms",
        "hostNsPerEvent",
        "loopDelayP99Ms",
        "elu",
        "rssMb",
        "errors",
        "dropped",
      ]) {
        expect(typeof r[key], `${r.mode}.${key}`).toBe("number");
        expect(Number.isFinite(r[key]), `${r.mode}.${key}`).toBe(true);
      }
      expect(r.latencyBasis).toBe(r.scenario === "sequential" ? "capture->ack" : "intended->stored");
      expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
      expect(r.p99Ms).toBeLessThanOrEqual(r.p999Ms);
      // Every mode acked every event, and the stream holds each of them once.
      expect(r.events, r.mode).toBeGreaterThan(0);
      expect({ mode: r.mode, acked: r.acked, stored: r.stored, errors: r.errors, dropped: r.dropped }).toEqual({
        mode: r.mode,
        acked: r.events,
        stored: r.events,
        errors: 0,
        dropped: 0,
      });
      expect(r.verified, r.mode).toBe(true);
      expect(r.eventsPerSec).toBeGreaterThan(0);
      // Every row has its ratio to the limit row of its scenario, where there is one.
      if (r.scenario === "sequential") expect(r.vsLimit, r.mode).toBeCloseTo(r.eventsPerSec / limit.eventsPerSec, 1);
      else expect(r.vsLimit, r.mode).toBeNull();
      // Paced rows: the generator's own lateness, and the latency from the moment of offering.
      if (r.scenario === "rate-1k") {
        expect(r.genLateP50Ms, r.mode).toBeLessThanOrEqual(r.genLateP99Ms);
        expect(r.fromOfferP50Ms, r.mode).toBeLessThanOrEqual(r.fromOfferP99Ms);
        expect(r.fromOfferP99Ms, r.mode).toBeGreaterThan(0);
      } else expect(r.genLateP99Ms, r.mode).toBeUndefined();
      // Where the CPU went: the host thread, the server and (offloaded only) the publisher worker
      // thread, found by its name in /proc; no Go tool in these modes.
      expect(r.cpuMsPer1k.host, r.mode).toBeGreaterThan(0);
      expect(r.cpuMsPer1k.server, r.mode).toBeGreaterThan(0);
      expect(r.cpuMsPer1k.otherThreads, r.mode).toBeGreaterThanOrEqual(0);
      expect(r.cpuMsPer1k.tool, r.mode).toBeNull();
      if (r.mode === "offloaded") expect(r.cpuMsPer1k.worker).toBeGreaterThan(0);
      else expect(r.cpuMsPer1k.worker, r.mode).toBeNull();
      expect(r.cores, r.mode).toBeGreaterThan(0);
    }
    expect(outcome.results).toHaveLength(2 * MODES.length + 1);

    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("sequential");
    expect(html).toContain("Where the CPU goes");
    expect(lines.some((l) => l.includes("sequential") && l.includes("offloaded"))).toBe(true);
    expect(lines.some((l) => /^\s*sequential\s+limit\s/.test(l))).toBe(true);
    expect(lines.some((l) => /^\s*limit: n\/a \(open-loop/.test(l))).toBe(true);
  });
});
