// Where the CLI reads from. Flags win; then a nats context; then the plugin's own config (the
// gateway's when run as `openclaw eventstore`, or the file given with --config); then NATS_URL;
// then the plugin's defaults.
import { readFileSync } from "node:fs";
import { DEFAULTS, resolveConfig } from "../config.ts";
import { loadNatsContext, type ServerSettings } from "../read/connect.ts";
import { PLUGIN_ID } from "../plugin-id.ts";
import { UsageError, type ParsedArgs } from "./args.ts";

export interface ReadSettings {
  server: ServerSettings;
  stream: string;
  prefix: string;
}

/** plugins.entries.nats-eventstore.config of an OpenClaw config object (undefined when absent). */
export function pluginConfigOf(openclawConfig: unknown): Record<string, unknown> | undefined {
  const entries = (openclawConfig as { plugins?: { entries?: Record<string, { config?: unknown }> } } | undefined)
    ?.plugins?.entries;
  const c = entries?.[PLUGIN_ID]?.config;
  return c !== null && typeof c === "object" && !Array.isArray(c) ? (c as Record<string, unknown>) : undefined;
}

function readOpenClawConfig(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --config ${file}: ${(e as Error).message}`);
  }
  try {
    return pluginConfigOf(JSON.parse(text));
  } catch (e) {
    throw new UsageError(`--config ${file} is not JSON: ${(e as Error).message}`);
  }
}

export function resolveSettings(
  values: ParsedArgs["values"],
  env: NodeJS.ProcessEnv,
  hostPluginConfig?: Record<string, unknown>,
): ReadSettings {
  const file = typeof values.config === "string" ? values.config : undefined;
  const raw = (file !== undefined ? readOpenClawConfig(file) : hostPluginConfig) ?? {};
  // --stream and --prefix are checked by the plugin's own rules for streamName and subjectPrefix.
  const r = resolveConfig({
    ...raw,
    ...(typeof values.stream === "string" ? { streamName: values.stream } : {}),
    ...(typeof values.prefix === "string" ? { subjectPrefix: values.prefix.replace(/\.$/, "") } : {}),
  });
  if (!r.ok) throw new UsageError(`invalid settings${file ? ` (with ${file})` : ""}: ${r.error}`);
  let server: ServerSettings = {
    url: raw.natsUrl !== undefined ? r.config.natsUrl : (env.NATS_URL ?? DEFAULTS.natsUrl),
  };
  if (typeof values.context === "string") server = loadNatsContext(values.context, env);
  if (typeof values.server === "string") server = { ...server, url: values.server };
  return { server, stream: r.config.streamName, prefix: r.config.subjectPrefix };
}
