// The read side's registrations: the `openclaw eventstore` CLI, the eventstore.query gateway
// method, the optional eventstore_recent agent tool, and a service that closes their reader
// connection when the gateway stops.
import type { EventStoreConfig } from "../config.ts";
import type { OpenClawPluginApi } from "../plugin-api.ts";
import { registerEventstoreCli } from "../cli/openclaw-cli.ts";
import { eventstoreRecentTool, TOOL_NAME } from "./agent-tool.ts";
import { closeReader, withReader } from "./gateway-reader.ts";
import { parseQuery, QueryError, runQuery } from "./query.ts";

/**
 * `config` is undefined when the plugin config is invalid: the CLI still works (and says so) and
 * the method answers with the error. Reading does not depend on `enabled` (publishing).
 */
export function registerReadSide(
  api: OpenClawPluginApi,
  config: EventStoreConfig | undefined,
  configError?: string,
): void {
  registerEventstoreCli(api);
  api.registerGatewayMethod(
    "eventstore.query",
    async ({ params, respond }) => {
      try {
        if (!config) throw new QueryError(`invalid plugin config: ${configError ?? "unknown"}`);
        const q = parseQuery(params ?? {});
        const result = await withReader(config, (c) => runQuery(c, config.streamName, config.subjectPrefix, q));
        respond(true, result);
      } catch (e) {
        const code = e instanceof QueryError ? "INVALID_REQUEST" : "UNAVAILABLE";
        respond(false, undefined, { code, message: e instanceof Error ? e.message : String(e) });
      }
    },
    { scope: "operator.read" },
  );
  if (!config) return;
  if (config.agentTool && typeof api.registerTool === "function") {
    api.registerTool(eventstoreRecentTool(config), { name: TOOL_NAME });
  }
}

/** Closes the reader connection at gateway stop (registered after the plugin's main service). */
export function registerReaderService(api: OpenClawPluginApi): void {
  api.registerService({ id: "nats-eventstore-reader", start: () => undefined, stop: () => closeReader() });
}
