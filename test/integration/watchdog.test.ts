// The progress watchdog: a publisher worker that is alive but makes no progress (its event loop
// blocked, or connected to a server that never answers) is reported as stalled and replaced; the
// successor resumes at the ring's release cursor, so every event is stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import type { ConnectionState } from "../../src/worker-protocol.ts";
import { Counter } from "../../src/ring/layout.ts";
import { NatsServer } from "../helpers/nats-server.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { expectEachEventOnce, waitFor } from "../helpers/stream-reader.ts";

const T = eventTypeIndex("llm.output");
const BLOCKING_WORKER = new URL("../helpers/blocking-worker.ts", import.meta.url);

/**
 * Waits until the watchdog has acted. Every connection state the supervisor takes is recorded as it
 * is set (a poll can miss the short "stalled" spell on a loaded machine), with the state status then
 * reports: a stalled worker's pipeline is degraded.
 */
async function untilStall(p: EventPipeline, timeoutMs: number): Promise<void> {
  const s = p.supervisor;
  const seen: string[] = [];
  let connection = s.connection;
  Object.defineProperty(s, "connection", {
    get: () => connection,
    set: (v: ConnectionState) => {
      connection = v;
      seen.push(`${v}, ${s.state}`);
    },
  });
  await waitFor(
    () => p.views.counters[Counter.workerStalls] >= 1 && seen.includes("stalled, degraded"),
    timeoutMs,
    "the watchdog to report a stall",
  ).catch((e: Error) => {
    // On a loaded machine a worker may be replaced while it still starts up: say so.
    const earlier = s.lastStall ? `; a stall before: ${s.lastStall.reason}` : "";
    throw new Error(`${e.message} (states seen: ${seen.join(" | ") || "none"}${earlier})`);
  });
}

describe("progress watchdog", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("replaces a worker whose event loop is blocked; every event is stored once", async () => {
    const log = new MemoryLogger();
    // publishTimeoutMs 500: the watchdog's limit is its floor, 2 s.
    const p = testPipeline(server.url, { streamName: "blocked", subjectPrefix: "bl", publishTimeoutMs: 500 }, log);
    p.start("", { workerUrl: BLOCKING_WORKER });
    for (let i = 0; i < 100; i++) p.capture(T, "main", "s", { i });
    await waitFor(() => p.views.counters[Counter.acked] >= 100, 15_000, "first acks");
    // The worker is now blocked: these wait in the ring.
    for (let i = 100; i < 600; i++) p.capture(T, "main", "s", { i });
    await untilStall(p, 15_000);
    await waitFor(() => p.views.counters[Counter.acked] === 600, 20_000, "the successor's acks");
    const s = await p.status();
    await p.stop();
    expect(s.counters.workerStalls).toBe(1);
    expect(s.counters.workerStarts).toBe(2);
    expect(s.counters.workerCrashes).toBe(0);
    expect(s.worker.lastStall?.reason).toMatch(/event loop has not turned for [\d.]+ s/);
    expect(log.lines.filter((l) => l.includes("publisher worker stalled"))).toHaveLength(1);
    await expectEachEventOnce(server.url, "blocked", 600);
  }, 60_000);

  it("replaces a worker that is connected but gets no acks (server frozen); every event is stored once", async () => {
    const frozen = await NatsServer.start();
    try {
      const log = new MemoryLogger();
      const cfg = { streamName: "frozen", subjectPrefix: "fz", publishTimeoutMs: 500, connectTimeoutMs: 1000 };
      const p = testPipeline(frozen.url, cfg, log);
      p.start();
      for (let i = 0; i < 100; i++) p.capture(T, "main", "s", { i });
      await waitFor(() => p.views.counters[Counter.acked] === 100, 15_000, "first acks");
      // SIGSTOP: the socket stays open (the worker stays "connected"), nothing is answered.
      process.kill(frozen.pid!, "SIGSTOP");
      for (let i = 100; i < 300; i++) p.capture(T, "main", "s", { i });
      try {
        await untilStall(p, 15_000);
      } finally {
        process.kill(frozen.pid!, "SIGCONT");
      }
      await waitFor(() => p.views.counters[Counter.acked] === 300, 30_000, "acks after the server resumed");
      const s = await p.status();
      await p.stop();
      expect(s.counters.workerStalls).toBeGreaterThanOrEqual(1);
      expect(s.worker.lastStall?.reason).toMatch(/connected, but nothing acked or spooled for [\d.]+ s while events/);
      const stalled = "publisher worker stalled: connected, but nothing acked";
      expect(log.lines.some((l) => l.startsWith("warn") && l.includes(stalled))).toBe(true);
      await expectEachEventOnce(frozen.url, "frozen", 300);
    } finally {
      await frozen.dispose();
    }
  }, 90_000);
});
