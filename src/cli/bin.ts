// The package's bin (`npx openclaw-nats-eventstore <command>`): the CLI for machines without
// OpenClaw. Settings come from flags, a nats context, --config openclaw.json or NATS_URL.
import { openclawGatewayStatus } from "./gateway-status.ts";
import { runCli } from "./main.ts";

const ac = new AbortController();
process.once("SIGINT", () => ac.abort());
process.once("SIGTERM", () => ac.abort());
process.exitCode = await runCli(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: ac.signal },
  { gatewayStatus: openclawGatewayStatus(process.env) },
);
