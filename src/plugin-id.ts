// The plugin's id: the manifest's "id" and the key of plugins.entries in OpenClaw's config.
export const PLUGIN_ID = "nats-eventstore";
