import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import plugin, { collectStatus } from "../../src/index.ts";
import { DEFAULTS } from "../../src/config.ts";
import { HOOKS, HOOK_NAMES } from "../../src/hooks/table.ts";
import { SEED_EVENT_TYPES } from "../../src/event-types.ts";
import { agentFromSessionKey, agentOf, sessionOf } from "../../src/hooks/identity.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { Counter } from "../../src/ring/layout.ts";
import { fakeApi, registerPlugin, resetPluginState, ringEvents, type FakeApi } from "../helpers/fake-api.ts";

const SMALL = { ringBytes: 1 << 20, maxPayloadBytes: 16_384, subjectPrefix: "t" };
const AGENT_CTX = { agentId: "main", sessionKey: "agent:main:harness-e2e", sessionId: "e7ca", runId: "run-1" };

// One call per hook, shaped like what a real OpenClaw 2026.9.6 gateway delivered (recorded in a real turn).
const SAMPLES: Record<string, [Record<string, unknown>, Record<string, unknown>]> = {
  message_received: [
    {
      from: "",
      content: "/status",
      messageId: "m1",
      senderId: "cli",
      sessionKey: "agent:main:cmd",
      metadata: { provider: "webchat", surface: "webchat", originatingChannel: "webchat", secretish: "x" },
    },
    { channelId: "webchat", conversationId: "agent:main:cmd", sessionKey: "agent:main:cmd", messageId: "m1" },
  ],
  message_sending: [
    { to: "agent:main:cmd", content: "reply text", metadata: { channel: "webchat" } },
    { channelId: "webchat", sessionKey: "agent:main:cmd" },
  ],
  message_sent: [
    { to: "user:h", content: "out", success: true, messageId: "lb-1", sessionKey: "agent:main:main" },
    { channelId: "loopback", sessionKey: "agent:main:main" },
  ],
  before_tool_call: [
    { toolName: "ls", params: { path: "." }, runId: "run-1", toolCallId: "call_1" },
    { ...AGENT_CTX, toolName: "ls" },
  ],
  after_tool_call: [
    {
      toolName: "ls",
      params: { path: "." },
      toolCallId: "call_1",
      result: { content: [{ type: "text", text: "a\nb" }] },
      durationMs: 27,
    },
    { ...AGENT_CTX, toolName: "ls" },
  ],
  agent_turn_prepare: [
    { prompt: "list the workspace", messages: [], queuedInjections: [] },
    { ...AGENT_CTX, trigger: "user", modelProviderId: "fake", modelId: "fake-model" },
  ],
  agent_end: [{ messages: [1, 2, 3, 4], success: true, durationMs: 424, runId: "run-1" }, AGENT_CTX],
  llm_input: [
    {
      runId: "run-1",
      sessionId: "e7ca",
      provider: "fake",
      model: "fake-model",
      systemPrompt: "SYSTEM SECRET",
      prompt: "USER PROMPT",
      historyMessages: [1],
      imagesCount: 0,
      tools: [1, 2],
    },
    AGENT_CTX,
  ],
  llm_output: [
    {
      runId: "run-1",
      provider: "fake",
      model: "fake-model",
      assistantTexts: ["ANSWER ONE", "TWO"],
      usage: { input: 10, output: 5, total: 15 },
    },
    AGENT_CTX,
  ],
  before_compaction: [{ messageCount: 4, tokenCount: 64 }, AGENT_CTX],
  after_compaction: [{ messageCount: 2, compactedCount: 2, sessionFile: "sqlite:x" }, AGENT_CTX],
  before_reset: [{ sessionFile: "sqlite:x", messages: [1, 2], reason: "reset" }, AGENT_CTX],
  session_start: [
    { sessionId: "e7ca", sessionKey: "agent:main:harness-e2e" },
    { sessionId: "e7ca", sessionKey: "agent:main:harness-e2e", agentId: "main" },
  ],
  session_end: [
    { sessionId: "e7ca", sessionKey: "agent:main:harness-e2e", messageCount: 0, reason: "shutdown" },
    { sessionId: "e7ca", sessionKey: "agent:main:harness-e2e", agentId: "main" },
  ],
  gateway_start: [{ port: 38379 }, { port: 38379, config: { gateway: { auth: { token: "SECRET-TOKEN" } } } }],
  gateway_stop: [{ reason: "gateway stopping" }, { port: 38379 }],
  model_call_started: [
    {
      runId: "run-1",
      callId: "run-1:model:1",
      sessionKey: "agent:main:harness-e2e",
      provider: "fake",
      model: "fake-model",
      api: "openai-completions",
    },
    { runId: "run-1", sessionKey: "agent:main:harness-e2e" },
  ],
  model_call_ended: [
    {
      runId: "run-1",
      callId: "run-1:model:1",
      provider: "fake",
      model: "fake-model",
      durationMs: 123,
      outcome: "completed",
      timeToFirstByteMs: 104,
    },
    { runId: "run-1", sessionKey: "agent:main:harness-e2e" },
  ],
  subagent_spawned: [
    {
      runId: "r2",
      childSessionKey: "agent:main:subagent:b4",
      agentId: "main",
      label: "child",
      mode: "run",
      resolvedModel: "fake/fake-model",
    },
    { runId: "r2", childSessionKey: "agent:main:subagent:b4", requesterSessionKey: "agent:ops:spawn" },
  ],
  subagent_ended: [
    {
      targetSessionKey: "agent:main:subagent:b4",
      targetKind: "subagent",
      reason: "subagent-complete",
      outcome: "ok",
      runId: "r2",
    },
    { runId: "r2", childSessionKey: "agent:main:subagent:b4", requesterSessionKey: "agent:ops:spawn" },
  ],
  cron_changed: [{ action: "added", jobId: "j1", nextRunAtMs: 1 }, { config: {} }],
  skill_changed: [{ action: "created", source: "workshop", after: { name: "harness-check" } }, { workspaceDir: "/w" }],
  before_install: [
    { targetType: "plugin", targetName: "dummy", origin: "plugin-package", sourcePathKind: "directory" },
    { targetType: "plugin" },
  ],
};

const setup = (config: Record<string, unknown> = {}, conversationAccess = true): FakeApi =>
  registerPlugin({ ...SMALL, ...config }, conversationAccess);

function fireAll(api: FakeApi): void {
  for (const h of HOOK_NAMES) if (api.hooks.has(h)) expect(api.fire(h, ...SAMPLES[h])).toBeUndefined();
}

const events = () => ringEvents(pluginState().pipeline!);

afterEach(async () => {
  await pluginState().pipeline?.stop();
  resetPluginState();
});

describe("plugin registration", () => {
  it("registers every hook of the table, the command, the gateway methods and the services, and spawns nothing", () => {
    const api = setup();
    expect([...api.hooks.keys()].sort()).toEqual([...HOOK_NAMES].sort());
    expect([...api.commands.keys()]).toEqual(["eventstatus"]);
    expect([...api.methods.keys()]).toEqual(["eventstore.status", "eventstore.query"]);
    expect(api.services.map((s) => s.id)).toEqual(["nats-eventstore", "nats-eventstore-reader"]);
    expect(pluginState().pipeline).toBeUndefined(); // nothing allocated until a hook fires or the service starts
  });

  it("covers the 17 seed event types", () => {
    const types = new Set(HOOKS.flatMap((h) => [h.type, ...(h.also ? [h.also.type] : [])]));
    for (const t of SEED_EVENT_TYPES) expect(types).toContain(t);
  });

  it("includeHooks wins over excludeHooks, as in the seed", () => {
    expect([
      ...setup({ includeHooks: ["gateway_start", "session_start"], excludeHooks: ["session_start"] }).hooks.keys(),
    ]).toEqual(["session_start", "gateway_start"]);
    expect(setup({ excludeHooks: ["llm_input"] }).hooks.has("llm_input")).toBe(false);
  });

  it("invalid config: one clear error naming the key, plugin disabled, host not crashed, status says why", async () => {
    const api = setup({ subjectPrefix: "bad prefix" });
    expect(api.hooks.size).toBe(0);
    expect(api.services).toHaveLength(0);
    expect(api.logs.join("\n")).toMatch(/invalid config, plugin disabled: subjectPrefix must be/);
    const r = await api.call("eventstore.status");
    expect(r).toEqual({
      ok: true,
      payload: { state: "disabled", enabled: false, error: expect.stringMatching(/^invalid config: subjectPrefix/) },
    });
    expect((await api.commands.get("eventstatus")!()).text).toMatch(/disabled: invalid config: subjectPrefix/);
  });

  it("unknown hook names in include/exclude are config errors", () => {
    expect(setup({ excludeHooks: ["before_agent_start"] }).logs.join()).toMatch(
      /excludeHooks names unknown hook\(s\) "before_agent_start"/,
    );
  });

  it("enabled: false registers no hooks and reports disabled", async () => {
    const api = setup({ enabled: false });
    expect(api.hooks.size).toBe(0);
    expect((await api.call("eventstore.status")).payload).toEqual({ state: "disabled", enabled: false });
  });
});

describe("hook -> event", () => {
  it("maps each hook to its event type, agent, session and subject", () => {
    const api = setup();
    fireAll(api);
    const got = events().map((e) => [e.env.type, e.env.agent, e.env.session, e.subject]);
    expect(got).toEqual([
      ["msg.in", "main", "agent:main:cmd", "t.main.msg_in"],
      ["msg.sending", "main", "agent:main:cmd", "t.main.msg_sending"],
      ["msg.out", "main", "agent:main:main", "t.main.msg_out"],
      ["tool.call", "main", "agent:main:harness-e2e", "t.main.tool_call"],
      ["tool.result", "main", "agent:main:harness-e2e", "t.main.tool_result"],
      ["run.start", "main", "agent:main:harness-e2e", "t.main.run_start"],
      ["run.end", "main", "agent:main:harness-e2e", "t.main.run_end"],
      ["llm.input", "main", "agent:main:harness-e2e", "t.main.llm_input"],
      ["llm.output", "main", "agent:main:harness-e2e", "t.main.llm_output"],
      ["session.compaction_start", "main", "agent:main:harness-e2e", "t.main.session_compaction_start"],
      ["session.compaction_end", "main", "agent:main:harness-e2e", "t.main.session_compaction_end"],
      ["session.reset", "main", "agent:main:harness-e2e", "t.main.session_reset"],
      ["session.start", "main", "agent:main:harness-e2e", "t.main.session_start"],
      ["session.end", "main", "agent:main:harness-e2e", "t.main.session_end"],
      ["gateway.start", "system", "system", "t.system.gateway_start"],
      ["gateway.stop", "system", "system", "t.system.gateway_stop"],
      ["model.call_start", "main", "agent:main:harness-e2e", "t.main.model_call_start"],
      ["model.call_end", "main", "agent:main:harness-e2e", "t.main.model_call_end"],
      ["subagent.spawned", "ops", "agent:ops:spawn", "t.ops.subagent_spawned"],
      ["subagent.ended", "ops", "agent:ops:spawn", "t.ops.subagent_ended"],
      ["cron.changed", "system", "system", "t.system.cron_changed"],
      ["skill.changed", "system", "system", "t.system.skill_changed"],
      ["plugin.install", "system", "system", "t.system.plugin_install"],
    ]);
  });

  it("extracts the fields an auditor needs, content included in full privacy mode (the seed's default)", () => {
    const api = setup();
    fireAll(api);
    const by = Object.fromEntries(events().map((e) => [e.env.type, e.env.payload]));
    expect(by["msg.in"]).toMatchObject({ content: "/status", channel: "webchat", messageId: "m1", senderId: "cli" });
    expect(by["tool.call"]).toEqual({ toolName: "ls", toolCallId: "call_1", runId: "run-1", params: { path: "." } });
    expect(by["tool.result"]).toMatchObject({
      toolName: "ls",
      durationMs: 27,
      result: { content: [{ type: "text", text: "a\nb" }] },
    });
    expect(by["run.start"]).toMatchObject({
      runId: "run-1",
      prompt: "list the workspace",
      trigger: "user",
      model: "fake-model",
    });
    expect(by["run.end"]).toEqual({ runId: "run-1", success: true, durationMs: 424, messageCount: 4 });
    expect(by["model.call_end"]).toMatchObject({ durationMs: 123, outcome: "completed", timeToFirstByteMs: 104 });
    expect(by["session.end"]).toMatchObject({ sessionId: "e7ca", messageCount: 0, reason: "shutdown" });
    expect(by["gateway.start"]).toEqual({ port: 38379 });
  });

  it("LLM events carry metadata only, never content", () => {
    const api = setup();
    fireAll(api);
    const all = JSON.stringify(events().filter((e) => e.env.type.startsWith("llm.")));
    expect(all).not.toMatch(/SYSTEM SECRET|USER PROMPT|ANSWER ONE/);
    const by = Object.fromEntries(events().map((e) => [e.env.type, e.env.payload]));
    expect(by["llm.input"]).toMatchObject({
      systemPromptLength: 13,
      promptLength: 11,
      historyMessageCount: 1,
      toolCount: 2,
      model: "fake-model",
    });
    expect(by["llm.output"]).toMatchObject({
      assistantTextCount: 2,
      assistantTextTotalLength: 13,
      usage: { total: 15 },
    });
  });

  it("metadata privacy mode replaces message text, prompts and tool data by their sizes and shapes", () => {
    const api = setup({ privacy: "metadata" });
    fireAll(api);
    const evs = events();
    const all = JSON.stringify(evs);
    expect(all).not.toMatch(/\/status|reply text|list the workspace|a\\nb/);
    const by = Object.fromEntries(evs.map((e) => [e.env.type, e.env.payload]));
    expect(by["msg.in"]).toMatchObject({ contentLength: 7, metadata: { provider: "webchat" } });
    expect(by["msg.in"].metadata).not.toHaveProperty("secretish");
    expect(by["tool.call"]).toEqual({ toolName: "ls", toolCallId: "call_1", runId: "run-1", paramsKind: "object" });
    const ids = { toolName: "ls", toolCallId: "call_1", runId: "run-1" };
    const result = { resultKind: "object", resultKeys: ["content"], resultContentCount: 1 };
    expect(by["tool.result"]).toEqual({ ...ids, durationMs: 27, paramsKind: "object", ...result });
    expect(by["run.start"]).toMatchObject({ promptLength: 18 });
    expect(by["llm.output"]).toMatchObject({ usage: { input: 10, output: 5, total: 15 } });
  });

  // An independent review found error texts and error objects (stderr, partialResult), a message
  // quoted in a send error, the prompt quoted in a run error, and data-bearing keys (e-mail
  // addresses) in resultKeys, all published in metadata mode. Nothing anybody wrote may leave.
  it("metadata privacy mode publishes no free text: errors, keys of user data, labels, reasons become kinds and sizes", () => {
    const api = setup({ privacy: "metadata" });
    const SECRET = "Tr0ub4dor-PROMPT-TEXT";
    const email = "alice.smith@example.com";
    const err = Object.assign(new Error(`Command failed: cat ~/.aws/credentials\naws_secret_access_key = ${SECRET}`), {
      code: "ENOENT",
      stderr: `cat: ${SECRET}`,
      partialResult: { [email]: SECRET },
    });
    const chat = { channelId: "telegram", sessionKey: "agent:main:main" };
    const result = { [email]: { note: SECRET }, content: [{ type: "text", text: SECRET }] };
    const params = { [email]: SECRET, cmd: SECRET };
    api.fire(
      "after_tool_call",
      { toolName: "exec", toolCallId: "c1", params, result, error: err, durationMs: 3 },
      AGENT_CTX,
    );
    api.fire("after_tool_call", { toolName: "exec", toolCallId: "c2", error: `Command failed: ${SECRET}` }, AGENT_CTX);
    api.fire(
      "message_sent",
      { to: "user:h", content: SECRET, success: false, error: `could not deliver "${SECRET}"` },
      chat,
    );
    const metadata = { provider: "telegram", senderName: `Alice ${SECRET}` };
    api.fire("message_received", { from: "telegram:1", content: SECRET, metadata }, chat);
    const failed = new TypeError(`while answering "${SECRET}"`);
    api.fire("agent_end", { success: false, error: failed, durationMs: 5, messages: [1] }, AGENT_CTX);
    api.fire("subagent_spawned", { runId: "r2", agentId: "main", label: `research ${SECRET}`, mode: "run" }, AGENT_CTX);
    const ended = { reason: `user said ${SECRET}`, outcome: { text: SECRET }, error: { message: SECRET } };
    api.fire("subagent_ended", { targetSessionKey: "agent:main:subagent:b4", ...ended }, AGENT_CTX);
    const usage = { input: 1, output: 2, [email]: 3, note: SECRET };
    api.fire("llm_output", { runId: "run-1", assistantTexts: [SECRET], usage }, AGENT_CTX);
    api.fire("gateway_stop", { reason: `stopping because ${SECRET}` }, {});
    const evs = events();
    const all = JSON.stringify(evs);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(email);
    expect(all).not.toContain("aws_secret_access_key");
    const p = evs.map((e) => e.env.payload);
    expect(p[0]).toEqual({
      toolName: "exec",
      toolCallId: "c1",
      runId: "run-1",
      errorKind: "Error",
      errorLength: err.message.length,
      errorCode: "ENOENT",
      durationMs: 3,
      paramsKind: "object",
      resultKind: "object",
      resultKeys: ["content"],
      resultContentCount: 1,
    });
    expect(p[1]).toMatchObject({ errorKind: "string", errorLength: SECRET.length + 16 });
    expect(p[2]).toMatchObject({ to: "user:h", success: false, errorKind: "string", contentLength: SECRET.length });
    expect(p[3]).toMatchObject({
      from: "telegram:1",
      contentLength: SECRET.length,
      metadata: { provider: "telegram" },
    });
    expect(p[4]).toMatchObject({ success: false, errorKind: "TypeError", messageCount: 1 }); // run.end
    expect(p[5]).toMatchObject({ success: false, errorKind: "TypeError" }); // run.error
    expect(p[6]).toMatchObject({ runId: "r2", mode: "run", labelLength: SECRET.length + 9 });
    expect(p[7]).toMatchObject({ reasonLength: SECRET.length + 10, outcomeKind: "object", errorKind: "object" });
    expect(p[8]).toMatchObject({ assistantTextCount: 1, usage: { input: 1, output: 2 } });
    expect(p[9]).toEqual({ reasonLength: SECRET.length + 17 });
  });

  it("emits run.error besides run.end when a run fails", () => {
    const api = setup();
    api.fire(
      "agent_end",
      { success: false, error: new Error("model exploded"), durationMs: 5, messages: [] },
      AGENT_CTX,
    );
    const evs = events();
    expect(evs.map((e) => e.env.type)).toEqual(["run.end", "run.error"]);
    expect(evs[1].env.payload).toMatchObject({ success: false, error: "model exploded" });
  });

  it("keeps host objects that plain JSON would empty or drop visible in tool params and results", () => {
    const api = setup();
    const params = { m: new Map([["k", 1]]), s: new Set([1, 2]), big: 12n, fn: function probe() {}, sym: Symbol("x") };
    api.fire("before_tool_call", { toolName: "x", params }, AGENT_CTX);
    const [e] = events();
    expect(e.env.payload.params).toEqual({
      m: { k: 1 },
      s: [1, 2],
      big: "12",
      fn: "[Function probe]",
      sym: "[Symbol x]",
    });
  });

  it("truncates an oversized tool result with a visible marker", () => {
    const api = setup({ maxPayloadBytes: 4096 });
    api.fire("after_tool_call", { toolName: "read", params: {}, result: "y".repeat(100_000) }, AGENT_CTX);
    const [e] = events();
    expect(e.env.payload._truncated).toEqual({ limitBytes: 4096 }); // cut before encoding: no full encode of 100 kB
    expect(JSON.stringify(e.env.payload).length).toBeLessThanOrEqual(4096);
    expect(String(e.env.payload.result)).toMatch(/truncated \d+ chars/);
  });

  it("never puts the gateway's secrets from ctx.config into an event", () => {
    const api = setup();
    fireAll(api);
    expect(JSON.stringify(events())).not.toContain("SECRET-TOKEN");
  });
});

describe("identity", () => {
  it("takes the agent from ctx.agentId, else from a canonical session key", () => {
    expect(agentFromSessionKey("agent:ops:telegram:123")).toBe("ops");
    expect(agentFromSessionKey("agent:main")).toBe("main");
    expect(agentFromSessionKey("viola:telegram:123")).toBeUndefined(); // the seed labelled this "viola"... or "agent"
    expect(agentOf({}, { agentId: "x", sessionKey: "agent:y:z" })).toBe("x");
    expect(agentOf({}, { sessionKey: "agent:y:z" })).toBe("y");
    expect(agentOf({ sessionKey: "agent:q:z" }, {})).toBe("q");
    expect(agentOf({}, { conversationId: "agent:main:cmd" })).toBe("main");
  });

  it("an empty agent id or session key is no id: the next source is asked", () => {
    expect(agentOf({}, { agentId: "", sessionKey: "agent:y:z" })).toBe("y");
    expect(agentOf({}, { agentId: "", sessionKey: "" })).toBeUndefined();
    expect(sessionOf({ sessionKey: "s-event" }, { sessionKey: "" })).toBe("s-event");
    expect(sessionOf({}, { sessionKey: "", sessionId: "" })).toBe("unknown");
  });

  it("metadata mode copies a message's routing names as given, the empty string too", () => {
    const api = setup({ privacy: "metadata" });
    const metadata = { provider: "", surface: "webchat", originatingChannel: 7 };
    api.fire("message_received", { from: "u", content: "hi", metadata }, AGENT_CTX);
    const [e] = events();
    expect(e.env.payload.metadata).toEqual({ provider: "", surface: "webchat" });
  });

  it("labels an event whose agent cannot be known 'unknown', never another agent", () => {
    expect(agentOf({}, { channelId: "telegram" })).toBeUndefined();
    expect(agentOf({}, { sessionKey: "telegram:123" })).toBeUndefined();
    const api = setup();
    api.fire("session_start", { sessionId: "s1" }, { channelId: "telegram" });
    const [e] = events();
    expect([e.env.agent, e.subject]).toEqual(["unknown", "t.unknown.session_start"]);
  });

  // The labels "system" (gateway-level events) and "unknown" (no known agent) are not agent ids:
  // real agents so named, or named like a mapped token, get subjects of their own.
  it("agents named 'system', 'unknown' or like a mapped token never share another's subjects", () => {
    const api = setup();
    api.fire("gateway_stop", { reason: "r" }, {});
    api.fire("session_start", { sessionId: "s0" }, { channelId: "telegram" }); // no agent: "unknown"
    const mapped = events().map((e) => e.subject);
    expect(mapped).toEqual(["t.system.gateway_stop", "t.unknown.session_start"]);
    // a gateway-level hook stays "system" whatever ctx says
    for (const agentId of ["system", "unknown"]) api.fire("gateway_stop", { reason: "r" }, { agentId });
    for (const agentId of ["system", "unknown", "my.bot"]) api.fire("session_start", { sessionId: "s1" }, { agentId });
    const evs = events().slice(2);
    expect(evs.map((e) => e.env.agent)).toEqual(["system", "system", "system", "unknown", "my.bot"]);
    const subjects = evs.map((e) => e.subject);
    expect(subjects.slice(0, 2)).toEqual(["t.system.gateway_stop", "t.system.gateway_stop"]);
    expect(subjects[2]).toMatch(/^t\.system-[0-9a-f]{16}\.session_start$/);
    expect(subjects[3]).toMatch(/^t\.unknown-[0-9a-f]{16}\.session_start$/);
    // the literal id that reads like my.bot's token gets a token of its own
    const literal = subjects[4].split(".")[1];
    api.fire("session_start", { sessionId: "s2" }, { agentId: literal });
    const [e] = events().slice(7);
    expect(e.env.agent).toBe(literal);
    expect(e.subject).not.toBe(subjects[4]);
    expect(e.subject.split(".")[1]).not.toBe(literal);
  });
});

describe("hostile events", () => {
  it("no handler throws or returns a promise, whatever it is given; every outcome is counted", async () => {
    const api = setup();
    const evil = new Proxy(
      {},
      {
        get: () => {
          throw new Error("boom");
        },
      },
    );
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const inputs: unknown[] = [undefined, null, 42, "str", Symbol("s"), evil, revoked.proxy, [], () => 1];
    let calls = 0;
    for (const h of HOOK_NAMES) {
      for (const ev of inputs) {
        for (const ctx of inputs) {
          expect(api.fire(h, ev, ctx)).toBeUndefined();
          calls++;
        }
      }
    }
    const s = await collectStatus();
    if (s.state === "disabled") throw new Error("no status");
    // Each call produced an event, a counted rejection, or (agent_end) two events.
    expect(s.counters.captured).toBeGreaterThanOrEqual(calls);
    expect(s.counters.captured).toBe(s.counters.acked + s.counters.dropped.total + s.counters.pending);
    expect(s.counters.dropped.rejected).toBeGreaterThan(0);
  });
});

describe("status surfaces", () => {
  it("/eventstatus and eventstore.status answer before and after the service starts, with the conversation-access hint", async () => {
    const api = setup({}, false);
    expect((await api.commands.get("eventstatus")!()).text).toMatch(/not started yet[\s\S]*allowConversationAccess/);
    api.fire("gateway_start", { port: 1 }, {});
    const r = await api.call("eventstore.status");
    expect(r.ok).toBe(true);
    const p = r.payload as { state: string; counters: { captured: number }; hints: string[] };
    expect([p.state, p.counters.captured]).toEqual(["not started", 1]);
    expect(p.hints.join()).toMatch(/run.end, run.error, llm.input, llm.output are not delivered/);
    const text = (await api.commands.get("eventstatus")!()).text;
    expect(text).toMatch(/^NATS event store: not started yet\n/);
    expect(text).toMatch(/events: 1 captured, 0 stored, 1 pending, 0 dropped/);
    expect(text).toMatch(/hint: .*allowConversationAccess/);
  });
});

describe("service lifecycle", () => {
  it("registering again (discovery instance, hot reload) and starting twice leaves one pipeline and one worker", async () => {
    const cfg = { natsUrl: "nats://127.0.0.1:1", connectTimeoutMs: 200 };
    const full = setup(cfg);
    const discovery = fakeApi({ ...SMALL, ...cfg });
    plugin.register(discovery);
    await full.services[0].start({});
    await discovery.services[0].start({});
    const p = pluginState().pipeline!;
    discovery.fire("gateway_start", { port: 1 }, {});
    full.fire("gateway_stop", { reason: "x" }, {});
    expect(p.views.counters[Counter.workerStarts]).toBe(1);
    expect(p.supervisor.running).toBe(true);
    expect(ringEvents(p).map((e) => e.env.type)).toEqual(["gateway.start", "gateway.stop"]);
    await full.services[0].stop?.({});
    expect(p.supervisor.running).toBe(false);
  });

  it("a reload with different engine settings drains the old pipeline and starts a new one", async () => {
    const a = setup({ natsUrl: "nats://127.0.0.1:1", connectTimeoutMs: 200 });
    await a.services[0].start({});
    const first = pluginState().pipeline!;
    const b = fakeApi({ ...SMALL, natsUrl: "nats://127.0.0.1:2", connectTimeoutMs: 200 });
    plugin.register(b);
    await b.services[0].start({});
    const second = pluginState().pipeline!;
    expect(second).not.toBe(first);
    expect(first.supervisor.running).toBe(false);
    expect(second.supervisor.running).toBe(true);
    expect(a.logs.concat(b.logs).join("\n")).toMatch(/configuration changed: draining the old publisher/);
  });
});

describe("manifest", () => {
  const manifest = JSON.parse(readFileSync(new URL("../../openclaw.plugin.json", import.meta.url), "utf8"));
  it("has the seed's id, startup activation, and a schema whose defaults are the code's defaults", () => {
    expect(manifest.id).toBe("nats-eventstore");
    expect(manifest.activation.onStartup).toBe(true);
    const props = manifest.configSchema.properties;
    expect(Object.keys(props).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [k, v] of Object.entries(DEFAULTS)) {
      if (k === "retention" || k === "tls") {
        const sub = props[k].properties;
        for (const [rk, rv] of Object.entries(v as object)) expect(sub[rk].default, `${k}.${rk}`).toEqual(rv);
      } else expect(props[k].default, k).toEqual(v);
    }
    expect(manifest.configSchema.additionalProperties).toBe(false);
    // Secrets are marked for the UI; file paths are not secrets.
    for (const k of ["natsUrl", "password", "token"]) expect(manifest.uiHints[k].sensitive, k).toBe(true);
  });

  it("package.json points OpenClaw at built JavaScript that ships in the package", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.openclaw.extensions).toEqual(["./dist/src/index.js"]);
    expect(pkg.files).toEqual(expect.arrayContaining(["dist/src", "dist/workers", "openclaw.plugin.json"]));
    expect(pkg.peerDependencies.openclaw).toBeDefined();
  });
});
