// The plugin in the real host: this repository is packed (`npm pack`, which builds dist/), installed
// into a real OpenClaw 2026.9.6 gateway on Node 24 with `openclaw plugins install npm-pack:…`, one
// agent turn runs against a fake OpenAI-compatible model (a tool call, then text), /eventstatus and
// eventstore.status are called through the running gateway, the gateway is stopped, and the events
// in a private nats-server's stream are checked: types, agent, session, subjects, payloads.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeModel, type FakeModel } from "./harness/fake-model.ts";
import { packPlugin, startGateway, stopAllGateways, turnText, waitUntil, type GatewayStopResult, type OpenClawGateway } from "./harness/openclaw-gateway.ts";
import { NatsServer } from "../helpers/nats-server.ts";
import { readStream, streamMessageCount } from "../helpers/stream-reader.ts";
import type { Envelope } from "../../src/event-types.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const STREAM = "e2e-events";
const PREFIX = "openclaw.events";
const TURN_KEY = "agent:main:e2e-turn";

describe("nats-eventstore in a real OpenClaw gateway", () => {
  let work = "";
  let nats: NatsServer | undefined;
  let model: FakeModel | undefined;
  let gw: OpenClawGateway | undefined;
  let stopped: GatewayStopResult | undefined;
  let events: { subject: string; msgId?: string; env: Envelope }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "eventstore-e2e-"));
    nats = await NatsServer.start();
    const tarball = packPlugin(REPO, work);
    model = await startFakeModel();
    gw = await startGateway({
      pluginTarball: tarball,
      pluginId: "nats-eventstore",
      pluginConfig: { natsUrl: nats.url, streamName: STREAM, subjectPrefix: PREFIX, retention: { maxAgeHours: 24 } },
      allowConversationAccess: true,
      modelUrl: model.url,
    });
  }, 300_000);

  afterAll(async () => {
    try {
      if (gw) stopped ??= await gw.stop();
      // On failure the plugin's own log lines are the first thing to read.
      const ours = (stopped?.log ?? "").split("\n").filter((l) => /nats-eventstore|eventstore/i.test(l));
      if (ours.length) console.log(`[e2e] plugin log lines:\n${ours.slice(-40).join("\n")}`);
    } finally {
      await stopAllGateways();
      await model?.close();
      gw?.removeScratch();
      await nats?.dispose();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  it("loads at gateway start and publishes gateway.start", async () => {
    await waitUntil(async () => (await streamMessageCount(nats!.url, STREAM).catch(() => 0)) > 0, 30_000, "first event in the stream");
    expect(gw!.logText()).toMatch(/nats-eventstore/);
  });

  it("runs an agent turn (tool call, then text) with the plugin loaded", async () => {
    const result = await gw!.agentTurn("e2e-turn", "Harness turn: list the workspace, then answer.");
    expect(result).toMatchObject({ status: "ok" });
    expect(turnText(result)).toMatch(/^FAKE_FINAL/);
  }, 180_000);

  it("answers eventstore.status through the gateway, with counters and latency percentiles", async () => {
    // llm_output fires after agent_end, right after the turn returns: wait until the turn's events are stored.
    await waitUntil(
      async () => {
        const s = (await gw!.call("eventstore.status")) as { counters?: { acked: number; pending: number; captured: number } };
        return s.counters !== undefined && s.counters.pending === 0 && s.counters.acked >= 10;
      },
      30_000,
      "events of the turn acked",
    );
    const s = (await gw!.call("eventstore.status")) as {
      enabled: boolean;
      connection: { state: string; server?: string };
      stream: { name: string };
      counters: { captured: number; acked: number; pending: number; dropped: { total: number } };
      latency: { captureToAck: { count: number; p50: number; p99: number; max: number } };
      host: { hookCalls: number; costNsPerCall: number };
      hints: string[];
    };
    expect(s.enabled).toBe(true);
    expect(s.connection.state).toBe("connected");
    expect(s.stream.name).toBe(STREAM);
    expect(s.counters.dropped.total).toBe(0);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    expect(s.latency.captureToAck.count).toBe(s.counters.acked);
    expect(s.latency.captureToAck.p99).toBeGreaterThan(0);
    expect(s.latency.captureToAck.max).toBeGreaterThanOrEqual(s.latency.captureToAck.p99);
    expect(s.hints).toEqual([]); // conversation access is granted
    console.log(`[e2e] eventstore.status: ${JSON.stringify({ counters: s.counters, latency: s.latency, host: s.host })}`);
  }, 90_000);

  it("answers /eventstatus in chat", async () => {
    const text = await gw!.command("e2e-cmd", "/eventstatus");
    expect(text).toMatch(/^NATS event store: connected to 127\.0\.0\.1:\d+, stream e2e-events/);
    expect(text).toMatch(/events: [\d,]+ captured, [\d,]+ stored, \d+ pending, 0 dropped/);
    expect(text).toMatch(/latency capture->ack: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(text).not.toMatch(/hint:/);
  }, 90_000);

  it("after a gateway stop, the stream holds the turn's events with the right agent, session, subject and payload", async () => {
    stopped = await gw!.stop();
    expect(stopped.forced).toBe(false);
    expect(gw!.anythingRunning()).toBe(false);
    const msgs = await readStream(nats!.url, STREAM);
    events = msgs.map((m) => ({ subject: m.subject, msgId: m.msgId, env: JSON.parse(Buffer.from(m.data).toString()) as Envelope }));
    const types = new Set(events.map((e) => e.env.type));
    for (const t of ["gateway.start", "session.start", "run.start", "llm.input", "llm.output", "tool.call", "tool.result", "run.end", "gateway.stop", "model.call_start", "model.call_end", "msg.in", "session.end"]) {
      expect(types, t).toContain(t);
    }
    // Every envelope: seed shape, its id as Nats-Msg-Id, subject {prefix}.{agent}.{type}, ids unique.
    for (const { subject, msgId, env } of events) {
      expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
      expect(msgId).toBe(env.id);
      expect(subject).toBe(`${PREFIX}.${env.agent}.${env.type.replace(/\./g, "_")}`);
    }
    expect(new Set(events.map((e) => e.env.id)).size).toBe(events.length);

    const of = (type: string, session = TURN_KEY) => events.filter((e) => e.env.type === type && e.env.session === session);
    for (const t of ["run.start", "llm.input", "llm.output", "tool.call", "tool.result", "run.end", "model.call_start", "model.call_end"]) {
      const hits = of(t);
      expect(hits.length, `${t} in ${TURN_KEY}`).toBeGreaterThanOrEqual(1);
      expect(hits.every((e) => e.env.agent === "main"), `${t} agent`).toBe(true);
    }
    expect(of("tool.call")[0].env.payload).toMatchObject({ toolName: "ls", params: { path: "." } });
    expect(of("tool.result")[0].env.payload).toMatchObject({ toolName: "ls", durationMs: expect.any(Number) });
    expect(of("run.end")[0].env.payload).toMatchObject({ success: true });
    expect(of("llm.input")[0].env.payload).toMatchObject({ provider: "fake", model: "fake-model", promptLength: expect.any(Number) });
    expect(JSON.stringify(of("llm.input")[0].env.payload)).not.toMatch(/Harness turn/); // metadata only
    expect(of("llm.output")[0].env.payload).toMatchObject({ assistantTextCount: expect.any(Number) });
    expect(of("run.start")[0].env.payload).toMatchObject({ prompt: expect.stringContaining("Harness turn") });
    expect(of("model.call_start")).toHaveLength(2);

    for (const t of ["gateway.start", "gateway.stop"]) {
      const [e] = events.filter((x) => x.env.type === t);
      expect(e.env.agent).toBe("system");
      expect(e.env.session).toBe("system");
    }
    expect(events.find((e) => e.env.type === "gateway.start")!.env.payload).toMatchObject({ port: expect.any(Number) });
    // The /eventstatus command arrived as a message on the webchat path.
    expect(events.some((e) => e.env.type === "msg.in" && e.env.agent === "main" && e.env.payload.content === "/eventstatus")).toBe(true);
    // Shutdown: gateway.stop and the session ends of the stop were still delivered (drained before exit).
    expect(events.some((e) => e.env.type === "session.end" && e.env.session === TURN_KEY && e.env.payload.reason === "shutdown")).toBe(true);
    // No event anywhere is labelled with an agent that does not exist here.
    expect(new Set(events.map((e) => e.env.agent))).toEqual(new Set(["main", "system"]));
  }, 60_000);

  it("never wrote a credential or the gateway token into the stream or its log", () => {
    const blob = JSON.stringify(events);
    expect(blob).not.toMatch(/"token"|apiKey|fake-local/);
    expect(stopped!.log).not.toMatch(/nats:\/\/[^@\s]+:[^@\s]+@/);
  });
});
