// End-to-end check of the real-host harness itself: the probe plugin (test/e2e/fixtures/probe-plugin) is packed,
// installed into a real OpenClaw 2026.9.6 gateway, one agent turn runs against the fake model, the plugin's gateway
// method and slash command are called, the gateway is stopped, and the probe's JSON-lines file is checked.
//
// Run: source scripts/node24.sh && npx vitest run test/e2e     (OPENCLAW_E2E_KEEP=1 keeps the scratch dirs)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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

const PROBE_DIR = fileURLToPath(new URL("./fixtures/probe-plugin/", import.meta.url));
const PLUGIN_ID = "e2e-probe";

interface ProbeLine {
  t: number;
  pid: number;
  reg: number;
  mode: string;
  hook: string;
  eventKeys?: string[];
  ctxKeys?: string[];
  agentId?: string;
  sessionKey?: string;
  toolName?: string;
  reason?: string;
  success?: boolean;
}

describe("OpenClaw real-host harness (probe plugin)", () => {
  const started = Date.now();
  let work = "";
  let outFile = "";
  let model: FakeModel | undefined;
  let gw: OpenClawGateway | undefined;
  let stopped: GatewayStopResult | undefined;
  const timings: Record<string, number> = {};

  const lines = (): ProbeLine[] =>
    readFileSync(outFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ProbeLine)
      .filter((l) => l.pid === gw?.pid); // only the gateway process (not CLI processes)
  const hooksSeen = () => new Set(lines().map((l) => l.hook));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "openclaw-e2e-test-"));
    outFile = join(work, "hooks.jsonl");
    const tarball = packPlugin(PROBE_DIR, work);
    model = await startFakeModel();
    const t = Date.now();
    gw = await startGateway({
      pluginTarball: tarball,
      pluginId: PLUGIN_ID,
      pluginConfig: { outFile },
      allowConversationAccess: true,
      modelUrl: model.url,
    });
    timings.startGateway = Date.now() - t;
  }, 360_000);

  afterAll(async () => {
    try {
      if (gw) {
        stopped ??= await gw.stop();
        expect(gw.anythingRunning()).toBe(false);
      }
    } finally {
      await stopAllGateways(); // also covers a startGateway() that was still in flight when beforeAll timed out
      await model?.close();
      gw?.removeScratch();
      if (work && process.env.OPENCLAW_E2E_KEEP !== "1") rmSync(work, { recursive: true, force: true });
      timings.total = Date.now() - started;
      console.log(`[e2e harness] timings ms: ${JSON.stringify({ ...gw?.timings, ...timings })}`);
    }
  }, 60_000);

  it("loads the plugin in the gateway: full + discovery registrations, gateway_start", async () => {
    // gateway_start is scheduled at "ready", so it can land a moment after /readyz says ready
    await waitUntil(() => hooksSeen().has("gateway_start"), 20_000, "gateway_start in the probe file");
    const regs = lines().filter((l) => l.hook === "__register__");
    expect(regs.map((r) => r.mode)).toEqual(expect.arrayContaining(["full", "discovery"]));
    expect(hooksSeen()).toContain("gateway_start");
    expect(gw!.logText()).toMatch(/\[gateway\] ready/);
    expect(gw!.logText()).toMatch(/e2e-probe/);
  });

  it("runs one agent turn: one tool call (ls), then the final text", async () => {
    const t = Date.now();
    const result = await gw!.agentTurn("e2e-turn", "Harness turn: list the workspace, then answer.");
    timings.agentTurn = Date.now() - t;
    timings.agentTurnGatewaySide = Number(
      (result as { result?: { meta?: { durationMs?: number } } }).result?.meta?.durationMs,
    );
    expect(result).toMatchObject({ status: "ok" });
    expect(turnText(result)).toMatch(/^FAKE_FINAL: turn complete/);
    const answers = model!.log().map((r) => r.answer);
    expect(answers.slice(0, 2)).toEqual(["tool_call", "text"]);
    expect(model!.requests()).toBe(2);
  }, 180_000);

  it("calls the plugin gateway method probe.status", async () => {
    const t = Date.now();
    const status = (await gw!.call("probe.status", { echo: "hi" })) as Record<string, unknown>;
    timings.gatewayCall = Date.now() - t;
    expect(status).toMatchObject({ ok: true, pid: gw!.pid, echo: "hi" });
    // shared state on globalThis: counts from both registration instances end up in one place
    expect(status.counts).toMatchObject({ gateway_start: 1, llm_input: 1, agent_end: 1 });
  }, 60_000);

  it("surfaces a failed gateway method (respond(false, ...)) and an unknown method as a rejected call()", async () => {
    const failed = await gw!.call("probe.fail").then(
      () => "resolved",
      (err: Error) => err.message,
    );
    const unknown = await gw!.call("probe.no_such_method").then(
      () => "resolved",
      (err: Error) => err.message,
    );
    console.log(`[e2e harness] probe.fail -> ${failed}\n[e2e harness] unknown method -> ${unknown}`);
    expect(failed).toMatch(/probe failure requested/);
    expect(unknown).not.toBe("resolved");
  }, 60_000);

  it("runs the /probestatus slash command via chat.send + chat.history", async () => {
    const t = Date.now();
    const reply = await gw!.command("e2e-cmd", "/probestatus");
    timings.command = Date.now() - t;
    expect(reply).toMatch(/^probestatus ok: /);
    const payload = JSON.parse(reply.slice("probestatus ok: ".length)) as Record<string, unknown>;
    expect(payload).toMatchObject({ ok: true, agentId: "main", sessionKey: "agent:main:e2e-cmd" });
    expect(model!.requests()).toBe(2); // a plugin command does not reach the model
  }, 90_000);

  it("stops cleanly and the probe saw the expected hooks", async () => {
    stopped = await gw!.stop();
    timings.stop = stopped.durationMs;
    expect(stopped.forced).toBe(false);
    expect(stopped.exitCode === 0 || stopped.signal === "SIGTERM").toBe(true);
    expect(gw!.anythingRunning()).toBe(false);
    expect(stopped.log).toMatch(/shutdown\] completed cleanly/);
    const token = (JSON.parse(readFileSync(gw!.configPath, "utf8")) as { gateway: { auth: { token: string } } }).gateway
      .auth.token;
    expect(token.length).toBeGreaterThan(20);
    expect(stopped.log).not.toContain(token);

    const all = lines();
    const seen = new Set(all.map((l) => l.hook));
    // gateway lifecycle (full instance)
    for (const h of ["gateway_start", "gateway_stop", "session_start", "session_end"]) expect(seen, h).toContain(h);
    // the agent turn
    const turnHooks = [
      "before_message_write",
      "before_agent_reply",
      "before_model_resolve",
      "agent_turn_prepare",
      "before_prompt_build",
      "before_agent_run",
      "llm_input",
      "model_call_started",
      "model_call_ended",
      "before_tool_call",
      "after_tool_call",
      "tool_result_persist",
      "before_agent_finalize",
      "agent_end",
      "llm_output",
    ];
    for (const h of turnHooks) expect(seen, h).toContain(h);
    // the chat.send command path
    for (const h of ["message_received", "before_dispatch", "reply_dispatch"]) expect(seen, h).toContain(h);

    const turnKey = "agent:main:e2e-turn";
    const inTurn = (h: string) => all.filter((l) => l.hook === h && l.sessionKey === turnKey);
    for (const h of ["session_start", "llm_input", "before_tool_call", "after_tool_call", "agent_end", "llm_output"]) {
      const hits = inTurn(h);
      expect(hits.length, `${h} for ${turnKey}`).toBeGreaterThanOrEqual(1);
      expect(
        hits.every((l) => l.agentId === "main"),
        `${h} agentId`,
      ).toBe(true);
    }
    expect(inTurn("before_tool_call")[0]?.toolName).toBe("ls");
    expect(inTurn("after_tool_call")[0]?.toolName).toBe("ls");
    expect(inTurn("agent_end")[0]?.success).toBe(true);
    expect(inTurn("llm_input")).toHaveLength(1);
    expect(inTurn("model_call_started")).toHaveLength(2);

    // which registration instance receives what (OpenClaw 2026.9.6)
    const modesOf = (h: string) => new Set(all.filter((l) => l.hook === h).map((l) => l.mode));
    for (const h of ["gateway_start", "gateway_stop", "session_start", "session_end"])
      expect([...modesOf(h)], h).toEqual(["full"]);
    for (const h of ["llm_input", "llm_output", "agent_end", "before_tool_call", "after_tool_call"]) {
      expect([...modesOf(h)], h).toEqual(["discovery"]);
    }

    // order: gateway_start first, agent_end before llm_output, gateway_stop before the shutdown session_end
    const idx = (h: string) => all.findIndex((l) => l.hook === h);
    expect(idx("gateway_start")).toBeLessThan(idx("llm_input"));
    expect(idx("agent_end")).toBeLessThan(idx("llm_output"));
    const stopIdx = idx("gateway_stop");
    const shutdownEnds = all.filter((l, i) => l.hook === "session_end" && i > stopIdx);
    expect(shutdownEnds.every((l) => l.reason === "shutdown")).toBe(true);
    expect(shutdownEnds.map((l) => l.sessionKey)).toEqual(expect.arrayContaining([turnKey]));

    // the service lifecycle: started once, by the full registration, before gateway_start; stopped after the
    // shutdown's gateway_stop and session_end hooks (what a plugin must drain at stop)
    const starts = all.filter((l) => l.hook === "__service_start__");
    const stops = all.filter((l) => l.hook === "__service_stop__");
    expect(starts.map((l) => l.mode)).toEqual(["full"]);
    expect(stops.map((l) => l.reg)).toEqual([starts[0]!.reg]);
    expect(idx("__service_start__")).toBeLessThan(idx("gateway_start"));
    const stopAt = idx("__service_stop__");
    expect(stopAt).toBeGreaterThan(stopIdx);
    expect(all.slice(stopAt + 1).some((l) => l.hook === "session_end" || l.hook === "gateway_stop")).toBe(false);
  }, 60_000);
});
