// `npm run demo`: the plugin at work, end to end, on this machine only (loopback, temporary dirs).
//   1. a private nats-server (JetStream) on a free port;
//   2. a real OpenClaw gateway with this plugin installed the way the README says
//      (`openclaw plugins install npm-pack:<tarball>`), a scripted fake model instead of an LLM;
//   3. three agents (main, researcher, writer) doing two turns each, every turn a tool call;
//   4. the live `tail` of the event stream while they work;
//   5. `openclaw eventstore stats`, a session timeline, eventstore.query and /eventstatus;
//   6. everything stopped and removed.
// EVENTSTORE_DEMO_REPORT=<file> also writes what it saw as JSON (for the test that runs the demo).
import type { Report } from "./report.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Envelope } from "../src/envelope.ts";
import { NatsServer, natsServerBinary } from "../test/helpers/nats-server.ts";
import {
  ensureOpenClaw,
  packPlugin,
  startGateway,
  stopAllGateways,
  turnText,
  waitUntil,
  type OpenClawGateway,
} from "../test/e2e/harness/openclaw-gateway.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(REPO, "bin", "openclaw-nats-eventstore.js");
const AGENTS = ["main", "researcher", "writer"] as const;
const TURNS = 2;
const STREAM = "openclaw-events";

const say = (s: string) => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`\n\x1b[1m== ${s}\x1b[0m`);
const indent = (text: string, pad = "   ") =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => pad + l)
    .join("\n");

function bin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function main(): Promise<number> {
  const report: Report = { agents: AGENTS, tailLines: [], turns: [] };
  try {
    natsServerBinary();
  } catch {
    process.stderr.write(
      "The demo needs a NATS server with JetStream: no nats-server binary on PATH or at /usr/sbin/nats-server.\n" +
        "Install one (Debian/Ubuntu: sudo apt-get install nats-server; macOS: brew install nats-server;\n" +
        "or a release from https://github.com/nats-io/nats-server/releases) and run npm run demo again.\n",
    );
    return 1;
  }
  const work = mkdtempSync(join(tmpdir(), "eventstore-demo-"));
  let nats: NatsServer | undefined;
  let gw: OpenClawGateway | undefined;
  let tail: ChildProcess | undefined;
  const cleanup = async () => {
    tail?.kill("SIGINT");
    await stopAllGateways();
    gw?.removeScratch();
    await nats?.dispose();
    rmSync(work, { recursive: true, force: true });
  };
  const interrupted = () => {
    say("\ninterrupted: cleaning up ...");
    void cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    step("1. a private nats-server with JetStream");
    nats = await NatsServer.start();
    report.natsPort = nats.port;
    say(`   ${nats.url} (store ${nats.storeDir})`);

    step("2. a real OpenClaw gateway with the plugin installed from an npm pack tarball");
    say("   (the OpenClaw host is installed once into ~/.cache; the first demo takes a minute longer)");
    ensureOpenClaw();
    const tarball = packPlugin(REPO, work);
    say(`   openclaw plugins install npm-pack:${tarball} --force --accept-capabilities`);
    const t0 = Date.now();
    gw = await startGateway({
      pluginTarball: tarball,
      pluginId: "nats-eventstore",
      pluginConfig: { natsUrl: nats.url, streamName: STREAM, agentTool: true },
      allowConversationAccess: true,
      configPatch: {
        agents: {
          ownership: "explicit",
          defaults: { heartbeat: { agentId: "main" }, systemAgent: { agentId: "main" } },
          entries: Object.fromEntries(AGENTS.map((a) => [a, { name: a }])),
        },
      },
    });
    report.gatewayRunId = gw.runId;
    say(
      `   gateway ready on 127.0.0.1:${gw.port} after ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
        `fake model at ${gw.model?.url}`,
    );
    const g = gw;
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const consumers = async () => (await jsm.streams.info(STREAM)).state.consumer_count;
    await waitUntil(async () => (await consumers().catch(() => -1)) >= 0, 60_000, "the plugin's stream");

    step(`3. live: npx openclaw-nats-eventstore tail --server ${nats.url}`);
    tail = spawn(process.execPath, [BIN, "tail", "--server", nats.url, "--stream", STREAM], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) },
    });
    let partial = "";
    tail.stdout!.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        report.tailLines.push(l);
        say(`   │ ${l}`);
      }
    });
    await waitUntil(async () => (await consumers()) > 0, 30_000, "the tail's consumer");
    await nc.close();

    say(`   three agents, ${TURNS} turns each (the fake model answers every turn with one tool call, then text)`);
    await Promise.all(
      AGENTS.map(async (agent) => {
        for (let turn = 1; turn <= TURNS; turn++) {
          const r = await g.agentTurn(
            `demo-${agent}`,
            `Demo turn ${turn} for ${agent}: look at the workspace, then answer.`,
            { agent },
          );
          const text = turnText(r);
          report.turns.push({ agent, turn, text });
          say(`   ✓ ${agent} turn ${turn}: ${text.slice(0, 70)}`);
        }
      }),
    );
    // llm_output comes right after a turn's end: wait until every event is stored.
    await waitUntil(
      async () => {
        const s = (await g.call("eventstore.status")) as { counters?: { pending: number; acked: number } };
        return s.counters !== undefined && s.counters.pending === 0;
      },
      30_000,
      "events stored",
    );
    await new Promise((r) => setTimeout(r, 1000));
    tail.kill("SIGINT");
    await new Promise((r) => tail!.once("close", r));
    tail = undefined;

    step("4. openclaw eventstore stats   (counts from the stream, and the plugin's status from the gateway)");
    const stats = await gw.cli(["eventstore", "stats"], { timeoutMs: 120_000 });
    report.statsText = stats.stdout;
    say(indent(stats.stdout));

    const sessionKey = "agent:researcher:demo-researcher";
    report.sessionKey = sessionKey;
    step(`5. openclaw eventstore session ${sessionKey}`);
    const session = await gw.cli(["eventstore", "session", sessionKey], { timeoutMs: 120_000 });
    report.sessionText = session.stdout;
    say(indent(session.stdout));

    step(`6. openclaw gateway call eventstore.query --params '{"agent":"writer","type":"tool.*","limit":4}'`);
    const q = (await gw.call("eventstore.query", { agent: "writer", type: "tool.*", limit: 4 })) as {
      events: Envelope[];
      count: number;
      hasMore: boolean;
    };
    report.queryResult = q;
    say(`   ${q.count} events (newest last), hasMore ${q.hasMore}:`);
    for (const e of q.events) say(`   ${JSON.stringify(e).slice(0, 150)}…`);

    step("7. /eventstatus (the chat command)");
    report.eventstatus = await gw.command("demo-status", "/eventstatus");
    say(indent(report.eventstatus));

    if (process.env.EVENTSTORE_DEMO_REPORT) {
      const conn = ["--server", nats.url, "--stream", STREAM];
      const replay = await gw.cli(["eventstore", "replay", "--json", "--type", "tool.*"], { timeoutMs: 120_000 });
      report.gatewayReplayJson = replay.stdout;
      const usage = await gw.cli(["eventstore", "replay", "--bogus"], { timeoutMs: 120_000, allowFailure: true });
      report.gatewayUsageError = { code: usage.code, stderr: usage.stderr };
      report.binReplayJson = (await bin(["replay", "--json", ...conn])).stdout;
      report.binStatsJson = (await bin(["stats", "--json", "--no-gateway", ...conn])).stdout;
      report.binSessionJson = (await bin(["session", sessionKey, "--json", ...conn])).stdout;
    }

    step("8. cleaning up");
    const stopped = await gw.stop();
    say(
      `   gateway stopped (exit ${stopped.exitCode ?? stopped.signal}), nats-server stopped, temporary files removed`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
    if (process.env.EVENTSTORE_DEMO_REPORT)
      writeFileSync(process.env.EVENTSTORE_DEMO_REPORT, JSON.stringify(report, null, 2));
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
}

process.exitCode = await main();
