// `stats`: counts by type and agent, the stream's size and limits, the plugin's status.
import { countEvents, renderStats, streamSummary, type Stats } from "../read/stats.ts";
import type { EnabledStatus } from "../status.ts";
import { statusText } from "../status-text.ts";
import type { CommandContext } from "./context.ts";

/** The gateway's answer to eventstore.status, or why there is none. */
type GatewayAnswer = { available: true; status: unknown } | { available: false; reason: string };

async function pluginStatus(ctx: CommandContext): Promise<GatewayAnswer> {
  if (ctx.args.values["no-gateway"] === true) return { available: false, reason: "not asked (--no-gateway)" };
  if (!ctx.host.gatewayStatus) return { available: false, reason: "no gateway to ask" };
  try {
    return { available: true, status: await ctx.host.gatewayStatus() };
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message.split("\n")[0] : String(e) };
  }
}

function pluginText(p: GatewayAnswer): string {
  if (!p.available) return `plugin status: not available (${p.reason})`;
  // The gateway may run another version of the plugin: its answer is looked at, not trusted.
  const s = p.status as Omit<Partial<EnabledStatus>, "enabled"> & {
    enabled?: boolean;
    error?: string;
    hints?: string[];
  };
  if (s.enabled === false) return `plugin status: disabled${s.error ? ` (${s.error})` : ""}`;
  if (!s.counters) return `plugin status: ${JSON.stringify(s)}`;
  return `plugin status (gateway):\n${statusText({ ...s, hints: s.hints ?? [] } as EnabledStatus)}`;
}

export async function stats(ctx: CommandContext): Promise<number> {
  const { io, settings, conn, filter, args } = ctx;
  const [stream, counts, plugin] = await Promise.all([
    streamSummary(conn, settings.stream),
    countEvents(conn, settings.stream, settings.prefix, filter),
    pluginStatus(ctx),
  ]);
  const s: Stats = { stream, filter, counts };
  if (args.values.json === true) {
    io.stdout.write(`${JSON.stringify({ ...s, plugin }, null, 2)}\n`);
  } else {
    io.stdout.write(`${renderStats(s, ctx.style)}\n\n${pluginText(plugin)}\n`);
  }
  return 0;
}
