// Plugin entry. register() is synchronous and cheap: it validates the config and registers hooks,
// the /eventstatus command, the eventstore.status gateway method and the service, and the read
// side (the `openclaw eventstore` CLI, eventstore.query, the optional eventstore_recent tool). It spawns
// nothing and connects to nothing (the CLI runs it too); the service's start does that.
import { resolveConfig } from "./config.ts";
import { registerHooks } from "./hooks/register-hooks.ts";
import { pluginState } from "./plugin-state.ts";
import type { OpenClawPluginApi } from "./plugin-api.ts";
import { ensurePipeline, startService, stopService } from "./service.ts";
import { registerReaderService, registerReadSide } from "./read/register.ts";
import { PLUGIN_ID } from "./plugin-id.ts";
import { statusText } from "./status-text.ts";
import { collectStatus } from "./status.ts";

export { PLUGIN_ID };
export { collectStatus };
export type { PluginStatus } from "./status.ts";

function register(api: OpenClawPluginApi): void {
  const state = pluginState();
  api.registerCommand({
    name: "eventstatus",
    description: "NATS event store: connection, counters and latency",
    acceptsArgs: false,
    handler: async () => {
      try {
        return { text: statusText(await collectStatus()) };
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
  state.config = config;
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
