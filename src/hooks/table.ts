// One table: which OpenClaw hook becomes which event type, and which fields of the hook's event
// an auditor gets. The 17 seed types keep their names and payload fields; content (message text,
// prompts, tool params and results, errors) follows the privacy setting (metadata mode: see
// ./metadata.ts); LLM hooks never carry content.
import { type Bag, ifString } from "./fields.ts";
import { errorSummary, numbers, shapeSummary, summary, textSummary } from "./metadata.ts";

export type Privacy = "full" | "metadata";
type Extract = (e: Bag, ctx: Bag, full: boolean) => Bag;

export interface HookSpec {
  hook: string;
  type: string;
  /** Gateway-level events: agent and session are "system". */
  system?: boolean;
  /** Delivered to non-bundled plugins only with hooks.allowConversationAccess (OpenClaw >= 2026.4.23). */
  conversation?: boolean;
  extract: Extract;
  /** A second event from the same hook call (the seed's run.error from agent_end). */
  also?: { type: string; when: (e: Bag) => boolean; extract: Extract };
}

const len = (v: unknown): number | undefined =>
  typeof v === "string" ? v.length : Array.isArray(v) ? v.length : undefined;
const count = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
/** Fields of an OpenClaw tool result (AgentToolResult): names the host defines, safe to list. */
const TOOL_RESULT_FIELDS = ["content", "details", "isError", "terminate"] as const;
const USAGE_FIELDS = ["input", "output", "cacheRead", "cacheWrite", "total"] as const;
/** Texts summed for assistantTextTotalLength: the walk stays bounded however many there are. */
const MAX_TEXTS = 4096;

/** Text content: as is in full mode, its length in metadata mode. */
function content(out: Bag, key: string, v: unknown, full: boolean): Bag {
  if (full) out[key] = v;
  else textSummary(out, key, v);
  return out;
}

/** Structured content (tool params and results): as is in full mode, its shape in metadata mode. */
function structured(out: Bag, key: string, v: unknown, full: boolean, knownKeys?: readonly string[]): Bag {
  if (full) out[key] = v;
  else shapeSummary(out, key, v, knownKeys);
  return out;
}

/** An error: its message (or the object) in full mode; errorKind, errorLength, errorCode in metadata mode. */
function error(out: Bag, v: unknown, full: boolean): Bag {
  if (full) out.error = v instanceof Error ? v.message : v;
  else errorSummary(out, v);
  return out;
}

/** Message metadata: as the host gave it in full mode; a few routing names in metadata mode. */
function messageMeta(m: unknown, full: boolean): unknown {
  if (full) return m;
  if (m === null || typeof m !== "object") return undefined;
  const x = m as Bag;
  return summary({
    provider: ifString(x.provider),
    surface: ifString(x.surface),
    originatingChannel: ifString(x.originatingChannel),
  });
}

export const HOOKS: readonly HookSpec[] = [
  {
    hook: "message_received",
    type: "msg.in",
    extract: (e, ctx, full) =>
      content(
        {
          from: e.from,
          timestamp: e.timestamp,
          channel: ctx.channelId,
          messageId: e.messageId ?? ctx.messageId,
          senderId: e.senderId ?? ctx.senderId,
          threadId: e.threadId,
          metadata: messageMeta(e.metadata, full),
        },
        "content",
        e.content,
        full,
      ),
  },
  {
    hook: "message_sending",
    type: "msg.sending",
    extract: (e, ctx, full) =>
      content(
        { to: e.to, channel: ctx.channelId, replyToId: e.replyToId, threadId: e.threadId },
        "content",
        e.content,
        full,
      ),
  },
  {
    hook: "message_sent",
    type: "msg.out",
    extract: (e, ctx, full) => {
      const out = error({ to: e.to, success: e.success }, e.error, full);
      out.channel = ctx.channelId;
      out.messageId = e.messageId;
      return content(out, "content", e.content, full);
    },
  },
  {
    hook: "before_tool_call",
    type: "tool.call",
    extract: (e, ctx, full) =>
      structured(
        {
          toolName: e.toolName ?? ctx.toolName,
          toolCallId: e.toolCallId ?? ctx.toolCallId,
          runId: e.runId ?? ctx.runId,
        },
        "params",
        e.params,
        full,
      ),
  },
  {
    hook: "after_tool_call",
    type: "tool.result",
    extract: (e, ctx, full) => {
      const out = error(
        {
          toolName: e.toolName ?? ctx.toolName,
          toolCallId: e.toolCallId ?? ctx.toolCallId,
          runId: e.runId ?? ctx.runId,
        },
        e.error,
        full,
      );
      out.durationMs = e.durationMs;
      return structured(structured(out, "params", e.params, full), "result", e.result, full, TOOL_RESULT_FIELDS);
    },
  },
  {
    // Fires once per run, before the model is called, and needs no conversation access.
    hook: "agent_turn_prepare",
    type: "run.start",
    extract: (e, ctx, full) =>
      content(
        {
          runId: ctx.runId,
          trigger: ctx.trigger,
          provider: ctx.modelProviderId,
          model: ctx.modelId,
          channel: ctx.channelId ?? ctx.channel,
        },
        "prompt",
        e.prompt,
        full,
      ),
  },
  {
    hook: "agent_end",
    type: "run.end",
    conversation: true,
    extract: (e, ctx, full) => {
      const out = error({ runId: e.runId ?? ctx.runId, success: e.success }, e.error, full);
      out.durationMs = e.durationMs;
      out.messageCount = count(e.messages);
      return out;
    },
    also: {
      type: "run.error",
      when: (e) => e.success === false,
      extract: (e, ctx, full) => {
        const out = error({ runId: e.runId ?? ctx.runId, success: false }, e.error, full);
        out.durationMs = e.durationMs;
        return out;
      },
    },
  },
  {
    hook: "llm_input",
    type: "llm.input",
    conversation: true,
    extract: (e) => ({
      runId: e.runId,
      sessionId: e.sessionId,
      provider: e.provider,
      model: e.model,
      systemPromptLength: len(e.systemPrompt) ?? 0,
      promptLength: len(e.prompt) ?? 0,
      historyMessageCount: count(e.historyMessages),
      imagesCount: e.imagesCount ?? 0,
      toolCount: count(e.tools),
    }),
  },
  {
    hook: "llm_output",
    type: "llm.output",
    conversation: true,
    extract: (e, _ctx, full) => {
      const texts: unknown[] = Array.isArray(e.assistantTexts) ? e.assistantTexts : [];
      let total = 0;
      for (let i = 0; i < texts.length && i < MAX_TEXTS; i++) {
        const t = texts[i];
        if (typeof t === "string") total += t.length;
      }
      return {
        runId: e.runId,
        sessionId: e.sessionId,
        provider: e.provider,
        model: e.model,
        assistantTextCount: texts.length,
        assistantTextTotalLength: total,
        usage: full ? e.usage : numbers(e.usage, USAGE_FIELDS),
      };
    },
  },
  {
    hook: "before_compaction",
    type: "session.compaction_start",
    extract: (e) => ({ messageCount: e.messageCount, compactingCount: e.compactingCount, tokenCount: e.tokenCount }),
  },
  {
    hook: "after_compaction",
    type: "session.compaction_end",
    extract: (e) => ({ messageCount: e.messageCount, compactedCount: e.compactedCount, tokenCount: e.tokenCount }),
  },
  {
    hook: "before_reset",
    type: "session.reset",
    extract: (e) => ({ reason: e.reason, messageCount: Array.isArray(e.messages) ? e.messages.length : undefined }),
  },
  {
    hook: "session_start",
    type: "session.start",
    extract: (e, ctx) => ({ sessionId: e.sessionId ?? ctx.sessionId, resumedFrom: e.resumedFrom }),
  },
  {
    hook: "session_end",
    type: "session.end",
    extract: (e, ctx) => ({
      sessionId: e.sessionId ?? ctx.sessionId,
      messageCount: e.messageCount,
      durationMs: e.durationMs,
      reason: e.reason,
      nextSessionId: e.nextSessionId,
    }),
  },
  { hook: "gateway_start", type: "gateway.start", system: true, extract: (e) => ({ port: e.port }) },
  { hook: "gateway_stop", type: "gateway.stop", system: true, extract: (e) => ({ reason: e.reason }) },
  // Newer hooks, same subject scheme.
  {
    hook: "model_call_started",
    type: "model.call_start",
    extract: (e, ctx) => ({
      runId: e.runId ?? ctx.runId,
      callId: e.callId,
      provider: e.provider,
      model: e.model,
      api: e.api,
      transport: e.transport,
    }),
  },
  {
    hook: "model_call_ended",
    type: "model.call_end",
    extract: (e, ctx) => ({
      runId: e.runId ?? ctx.runId,
      callId: e.callId,
      provider: e.provider,
      model: e.model,
      outcome: e.outcome,
      errorCategory: e.errorCategory,
      durationMs: e.durationMs,
      timeToFirstByteMs: e.timeToFirstByteMs,
      requestPayloadBytes: e.requestPayloadBytes,
      responseStreamBytes: e.responseStreamBytes,
    }),
  },
  {
    hook: "subagent_spawned",
    type: "subagent.spawned",
    extract: (e, ctx) => ({
      runId: e.runId ?? ctx.runId,
      childSessionKey: e.childSessionKey ?? ctx.childSessionKey,
      childAgentId: e.agentId,
      label: e.label,
      mode: e.mode,
      model: e.resolvedModel,
    }),
  },
  {
    hook: "subagent_ended",
    type: "subagent.ended",
    extract: (e, ctx, full) =>
      error(
        {
          runId: e.runId ?? ctx.runId,
          targetSessionKey: e.targetSessionKey,
          targetKind: e.targetKind,
          reason: e.reason,
          outcome: e.outcome,
        },
        e.error,
        full,
      ),
  },
  {
    hook: "cron_changed",
    type: "cron.changed",
    system: true,
    extract: (e) => ({ action: e.action, jobId: e.jobId, agentId: e.agentId, nextRunAtMs: e.nextRunAtMs }),
  },
  {
    hook: "skill_changed",
    type: "skill.changed",
    system: true,
    extract: (e) => ({
      action: e.action,
      source: e.source,
      name: (e.after as Bag | undefined)?.name ?? (e.before as Bag | undefined)?.name,
    }),
  },
  {
    hook: "before_install",
    type: "plugin.install",
    system: true,
    extract: (e) => ({
      targetType: e.targetType,
      targetName: e.targetName,
      origin: e.origin,
      sourcePathKind: e.sourcePathKind,
    }),
  },
];

export const HOOK_NAMES: readonly string[] = HOOKS.map((h) => h.hook);
