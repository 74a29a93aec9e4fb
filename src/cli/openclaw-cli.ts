// `openclaw eventstore <command>`: the same CLI registered into OpenClaw's command tree. It reads
// the plugin's config from the gateway's config and asks the running gateway for the plugin's
// status (stats). Arguments go through unparsed: the CLI's own parser and help apply.
import type { CliCommand, CliDescriptor, OpenClawPluginApi } from "../plugin-api.ts";
import { runCli } from "./main.ts";
import { pluginConfigOf } from "./settings.ts";

const CLI_DESCRIPTOR: CliDescriptor = {
  name: "eventstore",
  description: "Read the NATS event store: tail, replay, session timelines, stats",
  hasSubcommands: true,
  // With --json stdout is NDJSON/JSON: OpenClaw then sends its own start-up notes to stderr.
  machineOutput: ({ argv }) => argv.includes("--json"),
};

/** Asks the gateway this CLI is configured for (the host's own client: its URL, token and scopes). */
async function gatewayStatus(): Promise<unknown> {
  const sdk = "openclaw/plugin-sdk/gateway-runtime";
  const m = (await import(sdk)) as {
    callGatewayFromCli: (method: string, opts: Record<string, unknown>, params?: unknown) => Promise<unknown>;
  };
  return m.callGatewayFromCli("eventstore.status", { timeout: "10000", json: true }, {});
}

export function registerEventstoreCli(api: OpenClawPluginApi): void {
  if (typeof api.registerCli !== "function") return; // an older host without plugin CLI commands
  api.registerCli(
    ({ program, config }) => {
      const cmd: CliCommand = program.command(CLI_DESCRIPTOR.name);
      cmd
        .description(CLI_DESCRIPTOR.description)
        .helpOption(false)
        .allowUnknownOption(true)
        .allowExcessArguments(true)
        .argument("[args...]")
        .action(async (args: string[]) => {
          const ac = new AbortController();
          const abort = () => ac.abort();
          process.once("SIGINT", abort);
          process.once("SIGTERM", abort);
          try {
            process.exitCode = await runCli(
              args,
              { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: ac.signal },
              { pluginConfig: pluginConfigOf(config), gatewayStatus },
            );
          } finally {
            process.off("SIGINT", abort);
            process.off("SIGTERM", abort);
          }
        });
    },
    { descriptors: [CLI_DESCRIPTOR] },
  );
}
