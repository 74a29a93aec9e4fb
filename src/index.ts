// Plugin entry. register() is synchronous and cheap: it validates the config and registers hooks,
// the /eventstatus command, the eventstore.status gateway method and the service, and the read
// side (the `openclaw eventstore` CLI, eventstore.query, the optional eventstore_recent tool). It spawns
// nothing and connects to nothing (the CLI runs it too); the service's start does that.
import { resolveConfig, type EventStoreConfig } from "./config.ts";
import { HOOKS } from "./hooks/table.ts";
import { registerHooks } from "./hooks/register-hooks.ts";
import { pluginState } from "./plugin-state.ts";
import type { OpenClawPluginApi } from "./plugin-api.ts";
import { ensurePipeline, startService, stopService } from "./service.ts";
import { registerReaderService, registerReadSide } from "./read/register.ts";
import { PLUGIN_ID } from "./plugin-id.ts";
import { statusText } from "./status-text.ts";
import type { EventStoreStatus } from "./status.ts";

export { PLUGIN_ID };

const CONVERSATION_TYPES = HOOKS.filter((h) => h.conversation).flatMap((h) => [
  h.type,
  ...(h.also ? [h.also.type] : []),
]);

export type PluginStatus =
  | { enabled: false; error?: string }
  | (EventStoreStatus & { hints: string[] })
  | { enabled: true; connection: { state: "not started" }; hints: string[] };

function hints(config: EventStoreConfig | undefined): string[] {
  const st = pluginState();
  const out: string[] = [];
  if (st.conversationAccess === false) {
    out.push(
      `${CONVERSATION_TYPES.join(", ")} are not delivered: OpenClaw withholds llm_input, llm_output and ` +
        "agent_end from non-bundled plugins unless " +
        `plugins.entries.${PLUGIN_ID}.hooks.allowConversationAccess is true`,
    );
  }
  if (config?.privacy === "metadata") {
    out.push("privacy is metadata: message text, prompts, tool data and errors are reduced to kinds, lengths, counts");
  }
  if (config?.redact === false) {
    out.push("secret redaction is off (redact: false): API keys, tokens and passwords in events are published as is");
  }
  return out;
}

export async function collectStatus(): Promise<PluginStatus> {
  const st = pluginState();
  if (st.configError) return { enabled: false, error: `invalid config: ${st.configError}` };
  if (st.disabled) return { enabled: false };
  const p = st.pipeline;
  if (!p) return { enabled: true, connection: { state: "not started" }, hints: hints(undefined) };
  return { ...(await p.status()), hints: hints(p.config) };
}

async function statusCommandText(): Promise<string> {
  const s = await collectStatus();
  if (s.enabled === false)
    return s.error ? `NATS event store is disabled: ${s.error}` : "NATS event store is disabled (enabled: false)";
  if (!("counters" in s)) return `NATS event store: not started yet${s.hints.map((h) => `\nhint: ${h}`).join("")}`;
  return statusText(s, s.hints);
}

function register(api: OpenClawPluginApi): void {
  const state = pluginState();
  api.registerCommand({
    name: "eventstatus",
    description: "NATS event store: connection, counters and latency",
    acceptsArgs: false,
    handler: async () => {
      try {
        return { text: await statusCommandText() };
      } catch (e) {
        return { text: `NATS event store: status unavailable (${e instanceof Error ? e.message : e})` };
      }
    },
  });
  api.registerGatewayMethod(
    "eventstore.status",
    async ({ respond }) => {
      try {
        respond(true, await collectStatus());
      } catch (e) {
        respond(false, undefined, { code: "UNAVAILABLE", message: e instanceof Error ? e.message : String(e) });
      }
    },
    { scope: "operator.read" },
  );

  const r = resolveConfig(api.pluginConfig);
  registerReadSide(api, r.ok ? r.config : undefined, r.ok ? undefined : r.error);
  if (!r.ok) {
    state.configError = r.error;
    api.logger.error(`[nats-eventstore] invalid config, plugin disabled: ${r.error}`);
    return;
  }
  state.configError = undefined;
  const config = r.config;
  state.disabled = !config.enabled;
  if (!config.enabled) {
    api.logger.info("[nats-eventstore] disabled by config (enabled: false)");
    return;
  }
  const entry = api.config?.plugins?.entries?.[api.id || PLUGIN_ID];
  state.conversationAccess = entry?.hooks?.allowConversationAccess === true;
  registerHooks(api, config, () => ensurePipeline(config, api.logger));
  api.registerService({
    id: PLUGIN_ID,
    start: (ctx) => startService(config, api.logger, ctx?.stateDir),
    stop: () => stopService(),
  });
  registerReaderService(api);
}

export default {
  id: PLUGIN_ID,
  name: "NATS JetStream event store",
  description: "Streams every agent event into NATS JetStream from a worker thread, off the gateway's event loop",
  register,
};
