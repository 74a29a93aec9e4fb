// Where the CLI reads from. Flags win; then a nats context; then the plugin's own config (the
// gateway's when run as `openclaw eventstore`, or the file given with --config); then NATS_URL;
// then the plugin's defaults.
import { readFileSync } from "node:fs";
import { type ConnectionSettings, DEFAULTS, resolveConfig } from "../config.ts";
import { authMethods, NatsUrlError, parseNatsUrl } from "../nats-url.ts";
import { PLUGIN_ID } from "../plugin-id.ts";
import { UsageError, type ParsedArgs } from "./args.ts";

export interface ReadSettings {
  connection: ConnectionSettings;
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

const NO_CREDENTIALS = { user: "", password: "", token: "", nkeySeedFile: "", credsFile: "" };
const NO_CONNECTION: ConnectionSettings = {
  ...NO_CREDENTIALS,
  natsUrl: DEFAULTS.natsUrl,
  natsContext: "",
  tls: DEFAULTS.tls,
  connectTimeoutMs: DEFAULTS.connectTimeoutMs,
};

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
  const c = r.config;
  let connection: ConnectionSettings = {
    natsUrl: c.natsUrl,
    natsContext: c.natsContext,
    user: c.user,
    password: c.password,
    token: c.token,
    nkeySeedFile: c.nkeySeedFile,
    credsFile: c.credsFile,
    tls: c.tls,
    connectTimeoutMs: c.connectTimeoutMs,
  };
  // No server in the plugin config: NATS_URL, as the nats CLI.
  if (raw.natsUrl === undefined && !c.natsContext) connection.natsUrl = env.NATS_URL ?? DEFAULTS.natsUrl;
  // --context replaces the plugin's connection settings as a whole (its url, credentials and TLS).
  if (typeof values.context === "string") {
    connection = { ...NO_CONNECTION, natsUrl: "", natsContext: values.context, connectTimeoutMs: c.connectTimeoutMs };
  }
  if (typeof values.server === "string") {
    try {
      parseNatsUrl(values.server);
    } catch (e) {
      if (e instanceof NatsUrlError) throw new UsageError(`--server: ${e.message}`);
      throw e;
    }
    // Credentials in --server replace the configured ones (one connection authenticates one way).
    const own = authMethods({ ...NO_CONNECTION, natsUrl: values.server }).length > 0;
    connection = { ...connection, natsUrl: values.server, ...(own ? NO_CREDENTIALS : {}) };
  }
  return { connection, stream: r.config.streamName, prefix: r.config.subjectPrefix };
}
