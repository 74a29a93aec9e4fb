// The plugin in the real host: this repository is packed (`npm pack`, which builds dist/), installed
// into a real OpenClaw 2026.9.6 gateway on Node 24 with `openclaw plugins install npm-pack:…`, one
// agent turn runs against a fake OpenAI-compatible model (a tool call, then text), /eventstatus and
// eventstore.status are called through the running gateway. Then the gateway's lifecycle is worked:
// a sub-agent turn, an `exec` turn, another plugin installed through the running gateway (a config
// hot reload), a change of this plugin's own config (OpenClaw replaces its registration: old
// service stop, old gateway_stop hooks, new register, new service start, old files deleted), one
// more turn, and a SIGTERM. The events in a private nats-server's stream are checked: types, agent,
// session, subjects, payloads, and the shutdown's gateway_stop and session_end after all of that.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeModel, type FakeModel } from "./harness/fake-model.ts";
import {
  packPlugin,
  startGateway,
  stopAllGateways,
  turnText,
  waitUntil,
  type GatewayStopResult,
  type OpenClawGateway,
} from "./harness/openclaw-gateway.ts";
import { NatsServer } from "../helpers/nats-server.ts";
import { readStream, streamMessageCount } from "../helpers/stream-reader.ts";
import type { Envelope } from "../../src/envelope.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PROBE_DIR = fileURLToPath(new URL("./fixtures/probe-plugin/", import.meta.url));
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
  let probeTarball = "";

  const status = async () =>
    (await gw!.call("eventstore.status")) as {
      connection: { state: string };
      counters: { pending: number; workerStarts: number; workerCrashes: number };
    };
  /** Every event captured so far is stored (llm_output fires just after a turn returns). */
  const allStored = (what: string) =>
    waitUntil(
      async () => {
        const s = await status();
        return s.connection.state === "connected" && s.counters.pending === 0;
      },
      60_000,
      what,
    );

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "eventstore-e2e-"));
    nats = await NatsServer.start();
    const tarball = packPlugin(REPO, work);
    probeTarball = packPlugin(PROBE_DIR, work);
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
    await waitUntil(
      async () => (await streamMessageCount(nats!.url, STREAM).catch(() => 0)) > 0,
      30_000,
      "first event in the stream",
    );
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
        const s = (await gw!.call("eventstore.status")) as {
          counters?: { acked: number; pending: number; captured: number };
        };
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
    console.log(
      `[e2e] eventstore.status: ${JSON.stringify({ counters: s.counters, latency: s.latency, host: s.host })}`,
    );
  }, 90_000);

  it("answers /eventstatus in chat", async () => {
    const text = await gw!.command("e2e-cmd", "/eventstatus");
    expect(text).toMatch(/^NATS event store: connected to 127\.0\.0\.1:\d+, stream e2e-events/);
    expect(text).toMatch(/events: [\d,]+ captured, [\d,]+ stored, \d+ pending, 0 dropped/);
    expect(text).toMatch(/latency capture->ack: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(text).not.toMatch(/hint:/);
  }, 90_000);

  it("runs a sub-agent turn and an exec tool turn", async () => {
    const spawn = await gw!.agentTurn("e2e-spawn", "Delegate to a child, then answer. [[fake:spawn]]");
    expect(spawn).toMatchObject({ status: "ok" });
    const exec = await gw!.agentTurn("e2e-exec", "Run a command, then answer. [[fake:tool=exec]]");
    expect(turnText(exec)).toMatch(/harness-exec-ok/);
    expect(model!.log().map((r) => r.tool)).toEqual(expect.arrayContaining(["tool_call", "exec"]));
    await allStored("events of the sub-agent and exec turns stored");
  }, 240_000);

  it("keeps publishing after another plugin is installed through the running gateway (config hot reload)", async () => {
    const install = ["plugins", "install", `npm-pack:${probeTarball}`, "--force", "--accept-capabilities"];
    const res = await gw!.cli(install, { timeoutMs: 240_000 });
    expect(res.stdout).toMatch(/Applied in Gateway generation \d+/);
    await allStored("events stored after the plugin install");
  }, 300_000);

  it("keeps publishing after its own config changes (its registration is replaced)", async () => {
    const before = await status();
    const applied = /config hot reload applied \(.*plugins\.entries\.nats-eventstore/;
    const reloads = () =>
      gw!
        .logText()
        .split("\n")
        .filter((l) => applied.test(l)).length;
    const earlier = reloads();
    const key = "plugins.entries.nats-eventstore.config.excludeHooks";
    await gw!.cli(["config", "set", key, '["cron_changed"]', "--strict-json"], { timeoutMs: 120_000 });
    await waitUntil(() => reloads() > earlier, 60_000, "the hot reload of this plugin's config");
    await allStored("a running worker from the new registration, everything stored");
    const after = await status();
    expect(after.counters.workerStarts).toBeGreaterThan(before.counters.workerStarts);
    expect(after.counters.workerCrashes).toBe(0);
    const result = await gw!.agentTurn("e2e-after", "One more turn after the reloads: list, then answer.");
    expect(result).toMatchObject({ status: "ok" });
    await allStored("the last turn's events stored");
  }, 300_000);

  it("after a gateway stop, the stream holds the turn's events with the right agent, session, subject and payload", async () => {
    stopped = await gw!.stop();
    expect(stopped.forced).toBe(false);
    expect(gw!.anythingRunning()).toBe(false);
    const msgs = await readStream(nats!.url, STREAM);
    events = msgs.map((m) => ({
      subject: m.subject,
      msgId: m.msgId,
      env: JSON.parse(Buffer.from(m.data).toString()) as Envelope,
    }));
    const types = new Set(events.map((e) => e.env.type));
    for (const t of [
      "gateway.start",
      "session.start",
      "run.start",
      "llm.input",
      "llm.output",
      "tool.call",
      "tool.result",
      "run.end",
      "gateway.stop",
      "model.call_start",
      "model.call_end",
      "msg.in",
      "session.end",
    ]) {
      expect(types, t).toContain(t);
    }
    // Every envelope: seed shape, its id as Nats-Msg-Id, subject {prefix}.{agent}.{type}, ids unique.
    for (const { subject, msgId, env } of events) {
      expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
      expect(msgId).toBe(env.id);
      expect(subject).toBe(`${PREFIX}.${env.agent}.${env.type.replace(/\./g, "_")}`);
    }
    expect(new Set(events.map((e) => e.env.id)).size).toBe(events.length);

    const of = (type: string, session = TURN_KEY) =>
      events.filter((e) => e.env.type === type && e.env.session === session);
    for (const t of [
      "run.start",
      "llm.input",
      "llm.output",
      "tool.call",
      "tool.result",
      "run.end",
      "model.call_start",
      "model.call_end",
    ]) {
      const hits = of(t);
      expect(hits.length, `${t} in ${TURN_KEY}`).toBeGreaterThanOrEqual(1);
      expect(
        hits.every((e) => e.env.agent === "main"),
        `${t} agent`,
      ).toBe(true);
    }
    expect(of("tool.call")[0].env.payload).toMatchObject({ toolName: "ls", params: { path: "." } });
    expect(of("tool.result")[0].env.payload).toMatchObject({ toolName: "ls", durationMs: expect.any(Number) });
    expect(of("run.end")[0].env.payload).toMatchObject({ success: true });
    expect(of("llm.input")[0].env.payload).toMatchObject({
      provider: "fake",
      model: "fake-model",
      promptLength: expect.any(Number),
    });
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
    expect(
      events.some((e) => e.env.type === "msg.in" && e.env.agent === "main" && e.env.payload.content === "/eventstatus"),
    ).toBe(true);
    // Shutdown: gateway.stop and the session ends of the stop were still delivered (drained before exit).
    expect(
      events.some(
        (e) => e.env.type === "session.end" && e.env.session === TURN_KEY && e.env.payload.reason === "shutdown",
      ),
    ).toBe(true);
    // No event anywhere is labelled with an agent that does not exist here.
    expect(new Set(events.map((e) => e.env.agent))).toEqual(new Set(["main", "system"]));
  }, 60_000);

  it("holds the lifecycle's events: sub-agent, exec, plugin install, replacement, and the shutdown after them", () => {
    const types = (session: string) => new Set(events.filter((e) => e.env.session === session).map((e) => e.env.type));
    const spawned = types("agent:main:e2e-spawn");
    for (const t of ["subagent.spawned", "subagent.ended", "run.end"]) expect(spawned, t).toContain(t);
    const child = events.find((e) => e.env.type === "subagent.spawned")!.env.payload.childSessionKey as string;
    expect(types(child)).toContain("run.end");
    const execCalls = events.filter((e) => e.env.type === "tool.call" && e.env.session === "agent:main:e2e-exec");
    expect(execCalls.map((e) => e.env.payload.toolName)).toContain("exec");
    expect(events.some((e) => e.env.type === "plugin.install" && e.env.payload.targetType === "plugin")).toBe(true);
    const after = types("agent:main:e2e-after");
    for (const t of ["run.start", "llm.input", "tool.call", "run.end", "llm.output"]) expect(after, t).toContain(t);
    // gateway_stop fired for the replaced registration after its service stopped, and for the shutdown.
    const stops = events.filter((e) => e.env.type === "gateway.stop").map((e) => e.env.payload.reason);
    expect(stops).toEqual(["plugin replacement", "gateway stopping"]);
    // Every session the test opened ended at the shutdown, after the reloads.
    for (const key of ["e2e-turn", "e2e-cmd", "e2e-spawn", "e2e-exec", "e2e-after"]) {
      const ends = events.filter((e) => e.env.type === "session.end" && e.env.session === `agent:main:${key}`);
      expect(
        ends.map((e) => e.env.payload.reason),
        key,
      ).toEqual(["shutdown"]);
    }
    // excludeHooks took effect with the replacement: no cron events after it.
    const replaced = events.findIndex((e) => e.env.type === "gateway.stop");
    expect(events.slice(replaced).some((e) => e.env.type === "cron.changed")).toBe(false);
    expect(stopped!.log).not.toMatch(/could not be stored|nor spooled|publisher worker (failed|exited|stall)/);
  });

  it("never wrote a credential or the gateway token into the stream or its log", () => {
    const blob = JSON.stringify(events);
    expect(blob).not.toMatch(/"token"|apiKey|fake-local/);
    expect(stopped!.log).not.toMatch(/nats:\/\/[^@\s]+:[^@\s]+@/);
  });
});
