// Events for read-side tests, published by the plugin's own pipeline, and a way to run the CLI
// in-process with captured output.
import { Writable } from "node:stream";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Envelope } from "../../src/envelope.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import { runCli } from "../../src/cli/main.ts";
import type { CliHost } from "../../src/cli/context.ts";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(REPO, "bin", "openclaw-nats-eventstore.js");

/** An event as captured: what its envelope must say. `i` in the payload is unique. */
export interface Captured {
  type: string;
  agent: string;
  session: string;
  payload: Record<string, unknown> & { i: number };
}

let counter = 0;

/**
 * A batch of events as a gateway would capture them: two runs of agent main in session
 * agent:main:s<batch> (LLM calls, a tool call each, the second run's tool failing and the run
 * failing), messages of agent viola, a tool call of "my.bot" (an id that is not a subject token),
 * a sub-agent spawn, a compaction, and a gateway event (agent and session "system").
 */
export function batch(b: number): Captured[] {
  const out: Captured[] = [];
  const add = (type: string, agent: string, session: string, payload: Record<string, unknown>) =>
    out.push({ type, agent, session, payload: { ...payload, i: counter++ } });
  const s = `agent:main:s${b}`;
  for (let r = 0; r < 2; r++) {
    const runId = `run-${b}-${r}`;
    const fail = r === 1;
    add("run.start", "main", s, { runId, provider: "fake", model: "fake-model", prompt: `turn ${b}.${r}` });
    add("model.call_start", "main", s, { runId, callId: `${runId}:1`, provider: "fake", model: "fake-model" });
    add("model.call_end", "main", s, {
      runId,
      callId: `${runId}:1`,
      provider: "fake",
      model: "fake-model",
      outcome: "completed",
      durationMs: 40,
    });
    add("llm.output", "main", s, {
      runId,
      provider: "fake",
      model: "fake-model",
      assistantTextCount: 1,
      usage: { input: 30, output: 8 },
    });
    add("tool.call", "main", s, { runId, toolName: "ls", toolCallId: `${runId}-t`, params: { path: "." } });
    add("tool.result", "main", s, {
      runId,
      toolName: "ls",
      toolCallId: `${runId}-t`,
      durationMs: 7,
      ...(fail ? { error: "denied" } : { result: { n: 3 } }),
    });
    if (fail) add("run.error", "main", s, { runId, success: false, error: "tool failed", durationMs: 90 });
    add("run.end", "main", s, {
      runId,
      success: !fail,
      durationMs: 90,
      messageCount: 4,
      ...(fail ? { error: "tool failed" } : {}),
    });
  }
  add("subagent.spawned", "main", s, {
    runId: `run-${b}-0`,
    childSessionKey: `agent:main:subagent:${b}`,
    childAgentId: "main",
    label: "helper",
  });
  add("session.compaction_end", "main", s, { messageCount: 2, compactedCount: 6 });
  add("msg.in", "viola", "agent:viola:chat", { from: "user", content: `hello ${b}`, channel: "webchat" });
  add("msg.sending", "viola", "agent:viola:chat", { to: "user", content: `hi ${b}` });
  add("msg.out", "viola", "agent:viola:chat", { to: "user", content: `hi ${b}`, success: true });
  add("tool.call", "my.bot", "agent:my.bot:main", { toolName: "exec", params: { command: "echo" } });
  add("gateway.start", "system", "system", { port: 18789 });
  return out;
}

export function captureAll(p: EventPipeline, events: Captured[]): void {
  for (const e of events) {
    // Gateway-level events carry the plugin's "system" label, as the hooks capture them.
    const r = p.capture(eventTypeIndex(e.type), e.agent, e.session, e.payload, e.agent === "system");
    if (r !== "ok") throw new Error(`capture ${e.type}: ${r}`);
  }
}

/** A Writable that keeps what was written (not a terminal). */
export class MemoryOut extends Writable {
  text = "";
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString("utf8");
    cb();
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process; `signal` ends a tail. */
export async function cli(
  argv: string[],
  opts: { signal?: AbortSignal; host?: CliHost; env?: NodeJS.ProcessEnv; stdout?: MemoryOut } = {},
): Promise<CliRun> {
  const stdout = opts.stdout ?? new MemoryOut();
  const stderr = new MemoryOut();
  const code = await runCli(argv, { stdout, stderr, env: opts.env ?? {}, signal: opts.signal }, opts.host ?? {});
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function ndjson(text: string): Envelope[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Envelope);
}

/** The payload.i of each envelope (what tests compare with the captured list). */
export const ids = (envs: { payload: Record<string, unknown> }[]) => envs.map((e) => e.payload.i as number);

/** Builds dist/ when it is missing or older than a source file (the bin runs the built code). */
export function ensureBuilt(): void {
  const built = join(REPO, "dist", "src", "cli", "bin.js");
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((d) =>
        d.isDirectory() ? newest(join(dir, d.name)) : d.name.endsWith(".ts") ? statSync(join(dir, d.name)).mtimeMs : 0,
      ),
    );
  if (
    existsSync(built) &&
    statSync(built).mtimeMs >= Math.max(newest(join(REPO, "src")), newest(join(REPO, "workers")))
  )
    return;
  execFileSync("npm", ["run", "build", "--silent"], { cwd: REPO, stdio: "inherit", timeout: 300_000 });
}

/** Runs the package bin as a separate process. */
export function spawnBin(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): {
  done: Promise<CliRun>;
  kill: (sig: NodeJS.Signals) => void;
  stdout: () => string;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const done = new Promise<CliRun>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: out, stderr: err })),
  );
  return { done, kill: (sig) => child.kill(sig), stdout: () => out };
}
