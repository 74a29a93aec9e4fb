// The official `nats` CLI as an independent client: a context made with `nats context save` (in a
// temporary XDG_CONFIG_HOME) is the one the plugin's natsContext reads, and the README's subscription
// examples, run as written against a stream the plugin filled, see every event.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServer } from "../helpers/nats-server.ts";
import { natsTools } from "../helpers/nats-tools.ts";
import { makeTestPki, type TestPki } from "../helpers/tls-certs.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { SecretWatch, securedRun } from "../helpers/secured.ts";
import { waitFor } from "../helpers/stream-reader.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import { statusText } from "../../src/status-text.ts";
import { natsContextPath } from "../../workers/nats-auth.ts";

const run = promisify(execFile);
const PASSWORD = "pw-Context-4e8a21";
const watch = new SecretWatch();
const cfgHome = mkdtempSync(join(tmpdir(), "nats-xdg-"));
const savedXdg = process.env.XDG_CONFIG_HOME;
let pki: TestPki;
let server: NatsServer;

/** `nats` with the test's XDG_CONFIG_HOME (where `nats context save` writes). */
function nats(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(natsTools().nats, args, { env: { ...process.env, XDG_CONFIG_HOME: cfgHome }, timeout: 20_000 });
}

/** The commands of the README's "Subscribing" block, as words (single quotes honoured). */
function readmeCommands(): string[][] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = /## Subscribing\s+```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.startsWith("nats "))
    .map((l) => [...l.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1));
}

beforeAll(async () => {
  pki = makeTestPki();
  watch.secret("password", PASSWORD);
  watch.secret("private key", ...pki.privateKeys());
  server = await NatsServer.start({
    config: `authorization { users: [ { user: app, password: "${PASSWORD}" } ] }
tls { cert_file: "${pki.serverCert}", key_file: "${pki.serverKey}" }
`,
  });
  await nats(
    "context",
    "save",
    "plugin-ctx",
    "--server",
    server.url,
    "--user",
    "app",
    "--password",
    PASSWORD,
    "--tlsca",
    pki.ca,
  );
  await nats(
    "context",
    "save",
    "wrong-ctx",
    "--server",
    server.url,
    "--user",
    "app",
    "--password",
    "pw-Wrong-000111",
    "--tlsca",
    pki.ca,
  );
  watch.secret("password", "pw-Wrong-000111");
  process.env.XDG_CONFIG_HOME = cfgHome; // the worker threads the tests start inherit it
});
afterAll(async () => {
  if (savedXdg === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = savedXdg;
  await server?.dispose();
  pki?.dispose();
  rmSync(cfgHome, { recursive: true, force: true });
});

/** Starts `nats sub ... --count n` and resolves once it is subscribed; `done` resolves with its output. */
async function subscriber(args: string[], count: number): Promise<{ done: Promise<string>; proc: ChildProcess }> {
  const proc = spawn(natsTools().nats, ["--context", "plugin-ctx", ...args, "--count", String(count)], {
    env: { ...process.env, XDG_CONFIG_HOME: cfgHome },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const done = new Promise<string>((resolve) => proc.once("exit", () => resolve(out)));
  await waitFor(
    () => /Subscribing on/.test(out) || proc.exitCode !== null,
    10_000,
    `nats ${args.join(" ")} to subscribe`,
  );
  return { done, proc };
}

describe("the nats CLI beside the plugin", () => {
  it("natsContext reads what `nats context save` wrote; the README's nats commands see every event", async () => {
    expect(existsSync(natsContextPath("plugin-ctx"))).toBe(true);
    const cmds = readmeCommands();
    const [subAll, subTools, view, consumerAdd, consumerNext] = cmds;
    expect(cmds.map((c) => c.slice(0, 2).join(" "))).toEqual([
      "sub openclaw.events.>",
      "sub openclaw.events.*.tool_call",
      "stream view",
      "consumer add",
      "consumer next",
    ]);

    // 12 tool calls (main and ops) and 12 session starts (main): 24 events, fewer than a page of `stream view`.
    const all = await subscriber(subAll, 24);
    const tools = await subscriber(subTools, 12);
    const logger = new MemoryLogger();
    // The plugin's defaults (stream openclaw-events, subjects openclaw.events.>), and nothing but the context.
    const p = testPipeline(
      undefined,
      { natsContext: "plugin-ctx", streamName: "openclaw-events", subjectPrefix: "openclaw.events" },
      logger,
    );
    p.start();
    try {
      for (let i = 0; i < 12; i++) {
        p.capture(eventTypeIndex("tool.call"), i % 2 ? "ops" : "main", "s", { i, toolName: "ls" });
        p.capture(eventTypeIndex("session.start"), "main", "s", { i });
      }
      await waitFor(
        async () => (await p.status()).counters.acked === 24,
        20_000,
        "24 acks over the context's connection",
      );
      const s = await p.status();
      expect(s.connection.server).toBe(`127.0.0.1:${server.port}`);
      watch.collect(s, statusText({ ...s, hints: [] }));
    } finally {
      await p.stop();
      watch.collect(...logger.lines);
    }

    const allOut = await all.done;
    expect(allOut.match(/Received on "openclaw\.events\.[a-z]+\.[a-z_]+"/g)).toHaveLength(24);
    const toolsOut = await tools.done;
    const toolSubjects = toolsOut.match(/Received on "[^"]+"/g) ?? [];
    expect(toolSubjects).toHaveLength(12);
    expect(new Set(toolSubjects)).toEqual(
      new Set(['Received on "openclaw.events.main.tool_call"', 'Received on "openclaw.events.ops.tool_call"']),
    );

    // `stream view` pages interactively: it wants a terminal, which `script` gives it.
    const quoted = [natsTools().nats, "--context", "plugin-ctx", ...view].map((a) => `'${a}'`).join(" ");
    const viewed = (
      await run("script", ["-qec", quoted, "/dev/null"], {
        env: { ...process.env, XDG_CONFIG_HOME: cfgHome },
        timeout: 20_000,
      })
    ).stdout;
    expect(viewed.match(/^\[\d+\] Subject: openclaw\.events\./gm)).toHaveLength(24);
    expect(viewed).toMatch(/"type":"session\.start"/);

    await nats("--context", "plugin-ctx", ...consumerAdd);
    const batch = Number(consumerNext[consumerNext.indexOf("--count") + 1]);
    const next = await nats("--context", "plugin-ctx", ...consumerNext);
    const fetched = next.stdout.match(/subj: openclaw\.events\.[a-z]+\.[a-z_]+/g) ?? [];
    expect(fetched).toHaveLength(batch);
    expect(fetched.every((f) => f.includes("openclaw.events.main."))).toBe(true);
    const info = JSON.parse(
      (await nats("--context", "plugin-ctx", "consumer", "info", "openclaw-events", "audit", "--json")).stdout,
    );
    expect(info.num_pending + info.num_ack_pending).toBe(18 - batch); // main's 6 tool calls + 12 session starts
  });

  it("a context with the wrong password fails clearly; an unknown context is named with its path", async () => {
    const wrong = await securedRun(
      undefined,
      { natsContext: "wrong-ctx", streamName: "ctx", subjectPrefix: "ctx" },
      "fail",
      watch,
    );
    const path = natsContextPath("wrong-ctx");
    expect(wrong.status.lastError).toContain(
      `the server refused the credentials (natsContext "wrong-ctx" ${path} "user"/"password"): Authorization Violation`,
    );
    const missing = await securedRun(
      undefined,
      { natsContext: "no-such-ctx", streamName: "ctx", subjectPrefix: "ctx" },
      "fail",
      watch,
    );
    expect(missing.status.lastError).toBe(
      `natsContext "no-such-ctx" ${natsContextPath("no-such-ctx")}: cannot read it (no such file)`,
    );
  });

  it("finds no password or private key in any log line, status or error of these runs", () => {
    watch.expectClean(8);
  });
});
