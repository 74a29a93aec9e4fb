// Process-wide plugin state. OpenClaw loads the plugin module once per registration (start-up,
// discovery, every hot reload), each a separate module instance; agent-turn hooks arrive in one,
// the service and commands in another. So the pipeline lives on globalThis, found by all of them.
import type { EventStoreConfig } from "./config.ts";
import type { EventPipeline } from "./pipeline.ts";

interface PluginState {
  pipeline?: EventPipeline;
  /** plugins.entries.<id>.hooks.allowConversationAccess as last seen by register(). */
  conversationAccess?: boolean;
  configError?: string;
  /** The config register() last accepted (status hints before a pipeline exists). */
  config?: EventStoreConfig;
  disabled?: boolean;
}

/** Where the state lives on globalThis (a registered symbol: every module instance finds it). */
export const PLUGIN_STATE_KEY = Symbol.for("openclaw-nats-eventstore.state");

export function pluginState(): PluginState {
  const g = globalThis as { [PLUGIN_STATE_KEY]?: PluginState };
  return (g[PLUGIN_STATE_KEY] ??= {});
}
