// Secrets in tool calls, tool results, messages, prompts and errors, through the real plugin
// handlers, the real publisher worker and a real nats-server: none of them is in the stream, in
// either privacy mode or encoding, and status counts what was replaced.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpack } from "msgpackr";
import plugin, { collectStatus } from "../../src/index.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { NatsServer } from "../helpers/nats-server.ts";
import { readStream, waitFor } from "../helpers/stream-reader.ts";
import { fakeApi, resetPluginState } from "../helpers/fake-api.ts";
import { SECRET_SAMPLES } from "../helpers/secrets.ts";

const CTX = { agentId: "main", sessionKey: "agent:main:redaction", runId: "run-1" };
/** Shapes recognisable on their own, without a key name or a header around them: also sent as ids. */
const ALONE = new Set([
  "openai-key",
  "anthropic-key",
  "github-token",
  "slack-token",
  "stripe-key",
  "google-api-key",
  "aws-access-key-id",
  "jwt",
  "telegram-bot-token",
]);
const BARE = SECRET_SAMPLES.filter((x) => ALONE.has(x.kind));

/** Every hook that carries text a user, a model or a tool wrote, each holding every secret. */
function fireAll(api: ReturnType<typeof fakeApi>): number {
  const all = SECRET_SAMPLES.map((x) => x.text).join("\n");
  let events = 0;
  const fire = (hook: string, event: object, ctx: object = CTX) => {
    expect(api.fire(hook, event, ctx)).toBeUndefined();
    events++;
  };
  const chat = { channelId: "telegram", sessionKey: CTX.sessionKey };
  SECRET_SAMPLES.forEach((x, i) => {
    const params = { command: x.text, env: { PASSWORD: x.secret } };
    fire("before_tool_call", { toolName: "exec", toolCallId: `c${i}`, params });
    const result = { content: [{ type: "text", text: x.text }], details: { stderr: x.text } };
    fire("after_tool_call", { toolName: "exec", toolCallId: `c${i}`, params: { cmd: "run" }, result, durationMs: 1 });
    const error = Object.assign(new Error(`Command failed: ${x.text}`), { stderr: x.text });
    fire("after_tool_call", { toolName: "exec", toolCallId: `e${i}`, error });
    const metadata = { provider: "telegram", senderName: x.text };
    fire("message_received", { from: "telegram:1", content: x.text, messageId: `m${i}`, metadata }, chat);
    fire("message_sent", { to: "user:1", content: x.text, success: false, error: `could not send: ${x.text}` }, chat);
  });
  fire("message_sending", { to: "user:1", content: all }, chat);
  fire("agent_turn_prepare", { prompt: all }, { ...CTX, trigger: "user" });
  const failed = new Error(`while answering: ${all}`);
  api.fire("agent_end", { success: false, error: failed, durationMs: 3, messages: [] }, CTX);
  events += 2; // run.end and run.error
  for (const x of BARE) {
    fire("before_tool_call", { toolName: "exec", toolCallId: x.secret, runId: x.secret, params: {} });
    fire("message_received", { from: x.secret, content: "hi", messageId: x.secret }, chat);
  }
  return events;
}

describe("secret redaction through the real pipeline into a real nats-server", () => {
  let server: NatsServer;
  let stateDir: string;
  beforeAll(async () => {
    server = await NatsServer.start();
    stateDir = mkdtempSync(join(tmpdir(), "redaction-state-"));
  });
  afterEach(async () => {
    await pluginState().pipeline?.stop();
    resetPluginState();
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  for (const privacy of ["full", "metadata"] as const) {
    for (const encoding of ["json", "msgpack"] as const) {
      it(`${privacy} privacy, ${encoding}: no secret of any covered shape reaches the stream`, async () => {
        const stream = `red-${privacy}-${encoding}`;
        resetPluginState();
        const subjectPrefix = stream.replace(/-/g, "_");
        const api = fakeApi({ natsUrl: server.url, streamName: stream, subjectPrefix, privacy, encoding });
        plugin.register(api);
        await api.services[0].start({ stateDir });
        const n = fireAll(api);
        await waitFor(
          async () => {
            const s = await collectStatus();
            return s.state !== "disabled" && s.counters.acked === n;
          },
          30_000,
          `${n} acks`,
        );
        const status = await collectStatus();
        const text = (await api.commands.get("eventstatus")!()).text;
        await api.services[0].stop?.({});

        const msgs = await readStream(server.url, stream);
        expect(msgs.length).toBe(n);
        const raw = msgs.map((m) => Buffer.from(m.data).toString("utf8")).join("\n");
        for (const x of SECRET_SAMPLES) expect(raw, `${x.kind} ${x.secret}`).not.toContain(x.secret);
        // Every message is still a whole envelope in its encoding.
        const decode = (d: Uint8Array) => (encoding === "json" ? JSON.parse(Buffer.from(d).toString()) : unpack(d));
        const envs = msgs.map((m) => decode(m.data));
        expect(envs.every((e) => e.agent === "main" || e.agent === "unknown")).toBe(true);
        if (privacy === "full") {
          // Text is published, with each secret replaced by its kind.
          for (const kind of new Set(SECRET_SAMPLES.map((x) => x.kind))) expect(raw).toContain(`[REDACTED:${kind}]`);
          const call = envs.find((e) => e.type === "tool.call")!;
          expect(call.payload.params.command).toBe("here it is: [REDACTED:openai-key] (keep it safe)");
        }
        // The ids that were bare secrets are redacted in both modes.
        const ids = envs.filter((e) => e.type === "tool.call").map((e) => e.payload.toolCallId);
        for (const x of BARE) expect(ids).toContain(`[REDACTED:${x.kind}]`);
        expect(status.state).toBe("running");
        expect(status.state !== "disabled" && status.counters.redactions).toBeGreaterThan(0);
        expect(status.state !== "disabled" && status.counters.redactedEvents).toBeGreaterThan(0);
        expect(text).toMatch(/redacted: [\d,]+ secrets in [\d,]+ events/);
      }, 60_000);
    }
  }

  it("redact: false publishes text as captured, and status says redaction is off", async () => {
    resetPluginState();
    const api = fakeApi({ natsUrl: server.url, streamName: "red-off", subjectPrefix: "red_off", redact: false });
    plugin.register(api);
    await api.services[0].start({ stateDir });
    api.fire("before_tool_call", { toolName: "exec", params: { command: SECRET_SAMPLES[0].text } }, CTX);
    await waitFor(
      async () => {
        const s = await collectStatus();
        return s.state !== "disabled" && s.counters.acked === 1;
      },
      20_000,
      "ack",
    );
    const text = (await api.commands.get("eventstatus")!()).text;
    await api.services[0].stop?.({});
    const [m] = await readStream(server.url, "red-off");
    expect(Buffer.from(m.data).toString()).toContain(SECRET_SAMPLES[0].secret);
    expect(text).toMatch(/hint: secret redaction is off/);
  }, 30_000);
});
