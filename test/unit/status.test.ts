import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventTypeIndex } from "../../src/event-types.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { collectStatus, latencyPercentiles, mergeSnapshots } from "../../src/status.ts";
import { LatencyRecorder } from "../../workers/latency.ts";
import { registerPlugin, resetPluginState } from "../helpers/fake-api.ts";
import { freePort } from "../helpers/nats-server.ts";
import { testPipeline } from "../helpers/pipeline.ts";
import { waitFor } from "../helpers/stream-reader.ts";

const T = eventTypeIndex("session.start");

describe("latency in status", () => {
  it("reads the worker's histograms with the settings they were recorded with, merged across workers", () => {
    const a = new LatencyRecorder();
    // capture -> ack, publish -> ack (ms): 100 fast acks, one at 2.5 s
    for (let i = 0; i < 100; i++) a.record(1000, 1000.5, 1001.25);
    a.record(0, 2000, 2500);
    const one = latencyPercentiles([a.snapshot()]);
    // 3 significant digits: a value reads back within 0.1%
    const near = (ms: number) => expect.toSatisfy((x: number) => Math.abs(x - ms) <= ms / 1000);
    expect(one.captureToAck).toMatchObject({ count: 101, p50: near(1.25), max: near(2500) });
    expect(one.publishToAck).toMatchObject({ count: 101, p50: near(0.75), max: near(500) });

    const b = new LatencyRecorder();
    for (let i = 0; i < 300; i++) b.record(0, 0, 40);
    const merged = mergeSnapshots(a.snapshot(), b.snapshot());
    const both = latencyPercentiles([merged]);
    expect(both.captureToAck).toMatchObject({ count: 401, p50: near(40), max: near(2500) });
    expect(latencyPercentiles([a.snapshot(), b.snapshot()])).toEqual(both);
  });
});

describe("reading status", () => {
  afterEach(() => vi.useRealTimers());

  it("changes nothing: two reads in a row give the same status, rates included", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    const p = testPipeline("nats://127.0.0.1:4222"); // never started: no worker, no connection
    for (let sec = 0; sec < 10; sec++) {
      for (let i = 0; i < 100; i++) p.capture(T, "main", "s", { i });
      vi.advanceTimersByTime(1000);
    }
    const first = await p.status();
    expect(first.rates).toEqual({ capturedPerSec: 100, ackedPerSec: 0, windowSec: 10 });
    expect(await p.status()).toEqual(first);
    expect(await p.status()).toEqual(first);
    await p.stop();
  });
});

describe("status state", () => {
  afterEach(async () => {
    await pluginState().pipeline?.stop();
    resetPluginState();
  });

  const register = (config: Record<string, unknown>) =>
    registerPlugin({ ringBytes: 1 << 20, maxPayloadBytes: 16_384, ...config });
  const state = async () => (await collectStatus()).state;

  it("disabled, by enabled: false or by an invalid config", async () => {
    register({ enabled: false });
    expect(await collectStatus()).toEqual({ state: "disabled", enabled: false });
    register({ ringBytes: 3 });
    const s = await collectStatus();
    expect(s.state === "disabled" && s.error).toMatch(/^invalid config: ringBytes must be/);
  });

  it("names the settings an operator should know before any event or start (privacy, redaction off)", async () => {
    register({ privacy: "metadata", redact: false });
    const s = await collectStatus();
    expect(s.state !== "disabled" && s.hints.join("\n")).toMatch(/privacy is metadata[\s\S]*redaction is off/);
  });

  it("not started, then starting and degraded while NATS cannot be reached, then stopping and stopped", async () => {
    const api = register({ natsUrl: `nats://127.0.0.1:${await freePort()}`, connectTimeoutMs: 500 });
    const before = await collectStatus();
    expect(before.state).toBe("not started");
    expect(before.state !== "disabled" && [before.counters.captured, before.ring.capacityBytes]).toEqual([0, 0]);
    api.fire("session_start", { sessionId: "s1" }, { agentId: "main", sessionKey: "agent:main:s1" });
    const held = await collectStatus();
    expect(held.state !== "disabled" && [held.state, held.counters.pending]).toEqual(["not started", 1]);
    expect((await api.commands.get("eventstatus")!()).text).toMatch(/^NATS event store: not started yet\nevents: 1 /);

    const started = api.services[0].start({ stateDir: mkdtempSync(join(tmpdir(), "status-state-")) });
    expect(pluginState().pipeline!.supervisor.state).toBe("starting");
    await started;
    await waitFor(async () => (await state()) === "degraded", 10_000, "the connection error");
    const s = await collectStatus();
    expect(s.state !== "disabled" && [s.connection.state, s.lastError]).toEqual([
      "connecting",
      expect.stringMatching(/cannot connect to NATS/),
    ]);

    const stopped = api.services[0].stop!({});
    expect(pluginState().pipeline!.supervisor.state).toBe("stopping");
    await stopped;
    expect(await state()).toBe("stopped");
  });
});
