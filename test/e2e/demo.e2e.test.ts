// `npm run demo`, as a newcomer runs it: a private nats-server, a real OpenClaw gateway with the
// plugin installed from its npm pack tarball, three agents doing tool-calling turns against a fake
// model, a live tail, then `openclaw eventstore stats` / `session` (the CLI registered in the real
// gateway's CLI), eventstore.query and /eventstatus. The demo writes what it saw to a report
// (EVENTSTORE_DEMO_REPORT); this test checks that report against the stream as the package bin
// read it, and that nothing is left running. One gateway start for all of it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Envelope } from "../../src/envelope.ts";
import type { Report } from "../../demo/report.ts";
import type { Timeline } from "../../src/read/timeline.ts";
import { ndjson, REPO } from "../helpers/read-fixture.ts";

/** The demo's report, with the query result as eventstore.query answers it. */
type DemoReport = Report & { queryResult?: { events: Envelope[]; count: number; hasMore: boolean } };

const work = mkdtempSync(join(tmpdir(), "demo-e2e-"));
const reportFile = join(work, "report.json");

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: "127.0.0.1" });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

function processesWithMarker(runId: string): number[] {
  const needle = Buffer.from(`OPENCLAW_E2E_RUN_ID=${runId}\0`);
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/environ`).includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("npm run demo", () => {
  let code: number | null = null;
  let stdout = "";
  let stderr = "";
  let report: DemoReport;
  let events: Envelope[] = [];

  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      const child = spawn("npm", ["run", "demo", "--silent"], {
        cwd: REPO,
        env: { ...process.env, EVENTSTORE_DEMO_REPORT: reportFile, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("close", (c) => {
        code = c;
        resolve();
      });
    });
    report = JSON.parse(readFileSync(reportFile, "utf8")) as DemoReport;
    events = ndjson(report.binReplayJson ?? "");
  }, 1_200_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("runs to the end and says what it does at each step", () => {
    expect(code, `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`).toBe(0);
    for (let n = 1; n <= 8; n++) expect(stdout).toMatch(new RegExp(`== ${n}\\. `));
    expect(report.turns).toHaveLength(6);
    for (const t of report.turns) expect(t.text).toMatch(/^FAKE_FINAL/);
  });

  it("showed each agent's tool calls live in the tail, as the stream holds them", () => {
    const toolLines = report.tailLines.filter((l) => / tool\.call /.test(l));
    const stored = events.filter((e) => e.type === "tool.call");
    expect(toolLines).toHaveLength(stored.length);
    for (const agent of report.agents) {
      expect(stored.filter((e) => e.agent === agent)).toHaveLength(2);
      expect(toolLines.filter((l) => new RegExp(` ${agent} +tool\\.call `).test(l))).toHaveLength(2);
    }
  });

  it("`openclaw eventstore` in the gateway's CLI reads the same stream as the package bin", () => {
    const viaGateway = ndjson(report.gatewayReplayJson ?? "");
    expect(viaGateway.length).toBeGreaterThanOrEqual(12);
    expect(viaGateway.map((e) => e.id)).toEqual(events.filter((e) => e.type.startsWith("tool.")).map((e) => e.id));
    // Exit codes survive OpenClaw's CLI: a usage error is 2.
    expect(report.gatewayUsageError).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Unknown option '--bogus'/),
    });
    // stats: counts by agent (researcher and writer had no events after it), and the plugin's status.
    const text = report.statsText ?? "";
    for (const agent of ["researcher", "writer"]) {
      const m = new RegExp(` ${agent} +(\\d+)$`, "m").exec(text);
      expect(Number(m?.[1]), `${agent} in\n${text}`).toBe(events.filter((e) => e.agent === agent).length);
    }
    expect(text).toMatch(
      /plugin status \(gateway\):\nNATS event store: connected to 127\.0\.0\.1:\d+, stream openclaw-events/,
    );
    expect(text).toMatch(/latency capture->ack: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    // session: the timeline's totals match the session's events in the stream.
    const t = JSON.parse(report.binSessionJson ?? "{}") as Timeline;
    const mine = events.filter((e) => e.session === report.sessionKey);
    // Runs as the stream holds them: each runId once (on a loaded machine the host may start another run,
    // or start one again: a retry keeps its runId).
    const runIds = mine.filter((e) => e.type === "run.start" || e.type === "run.end").map((e) => e.payload.runId);
    const runs = new Set(runIds).size;
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(t.totals).toMatchObject({
      events: mine.length,
      runs,
      llmCalls: mine.filter((e) => e.type === "model.call_end").length,
      toolCalls: 2,
      toolErrors: 0,
    });
    expect(report.sessionText).toMatch(/^session agent:researcher:demo-researcher {2}\(agent researcher\)/);
    expect(report.sessionText).toMatch(
      new RegExp(`totals: ${runs} runs, ${t.totals.llmCalls} LLM calls, 2 tool calls \\(0 errors`),
    );
  });

  it("answered eventstore.query with the newest events, newest last, and /eventstatus in chat", () => {
    const q = report.queryResult!;
    const writerTools = events.filter((e) => e.agent === "writer" && e.type.startsWith("tool."));
    expect(q.count).toBe(4);
    expect(q.events.map((e) => e.id)).toEqual(writerTools.slice(-4).map((e) => e.id));
    expect(report.eventstatus).toMatch(
      new RegExp(
        "^NATS event store: connected to 127\\.0\\.0\\.1:\\d+, stream openclaw-events\n" +
          "events: [\\d,]+ captured, [\\d,]+ stored, 0 pending, 0 dropped",
      ),
    );
  });

  it("left nothing running", async () => {
    expect(report.gatewayRunId).toBeDefined();
    expect(processesWithMarker(report.gatewayRunId!)).toEqual([]);
    expect(await portOpen(report.natsPort!)).toBe(false);
  });
});
