// The server's own limit: the official `nats bench js pub` (Go, natscli) publishing to the same
// server, into a stream made with the plugin's settings (file storage, its subjects, the 2-minute
// de-duplication window), with a Nats-Msg-Id on every message (--dedup), the scenario's envelope as
// the payload and its message count, after the same warm-up. Not a Node program: the orchestrator
// runs it as a child process (no BenchChild), and bash's `times` gives its CPU time.
//
// `js pub async` publishes --batch messages, then waits for all their acks before the next batch
// (the Go client's async publisher allows 4,000 outstanding publishes by default); `js pub sync`
// waits for each ack (the sequential scenario's shape).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBashTimes } from "../lib/cpu.ts";
import { makeEvents, seedEnvelope, seedSubject } from "../lib/events.ts";
import type { ScenarioSpec } from "../lib/types.ts";

/** Messages per batch of `js pub async`: as close to the plugin's window (4096) as the Go client allows (4000). */
export const LIMIT_BATCH = 4000;

export interface LimitRun {
  scenario: ScenarioSpec;
  url: string;
  stream: string;
  subjectPrefix: string;
  /** The `nats` CLI binary. */
  nats: string;
  batch: number;
  /** CPU time (ms) of the embedded nats-server so far; undefined with NATS_URL. */
  serverCpuMs: () => number | undefined;
  timeoutMs: number;
  progress?: (phase: string) => void;
}

export interface LimitResult {
  scenario: string;
  tool: "async" | "sync";
  /** The measured invocation, as a shell line (for the notes). */
  command: string;
  /** Messages the tool published and had acked in the measured run (after its warm-up). */
  sent: number;
  /** The tool's own figures: from its first publish to its last ack. */
  seconds: number;
  eventsPerSec: number;
  envelopeBytes: number;
  /**
   * CPU time of the tool (user + system, every thread; its start-up, measured by a one-message run,
   * taken off) and of the embedded server during the measured run.
   */
  toolCpuMs: number | null;
  serverCpuMs: number | null;
  /** Messages stored besides the warm-up and the measured run (the start-up probe's). */
  extraStored: number;
  notes: string[];
}

interface ToolRun {
  seconds: number;
  msgsPerSec: number;
  cpuMs: number | undefined;
}

/** Runs the tool once; rejects with its error output when it fails. */
function runTool(nats: string, args: string[], csv: string, timeoutMs: number): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    // bash reports the CPU its child used (`times`, second line) on fd 3 once the tool has exited.
    // A process group of its own: a time-out, or the bench exiting, ends the tool with its shell.
    const child = spawn("bash", ["-c", '"$@"; rc=$?; times >&3; exit $rc', "bash", nats, ...args], {
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    process.once("exit", killGroup);
    let out = "";
    let err = "";
    let times = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d) => (times += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      process.removeListener("exit", killGroup);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      process.removeListener("exit", killGroup);
      if (code !== 0) {
        const why = timedOut
          ? `no result within ${timeoutMs / 1000} s`
          : (err || out).trim().split("\n").slice(-2).join(" / ");
        reject(new Error(`nats bench exited (${signal ?? code}): ${why}`));
        return;
      }
      try {
        const figures = parseCsv(readFileSync(csv, "utf8"));
        resolve({ ...figures, cpuMs: parseBashTimes(times) });
      } catch (e) {
        reject(new Error(`cannot read the tool's CSV (${(e as Error).message}); its output: ${out.trim()}`));
      }
    });
  });
}

/** The tool's --csv file: a "#RunID,..." header and one line per client. */
export function parseCsv(text: string): { seconds: number; msgsPerSec: number } {
  // The file may end without a newline, and the tool has been seen to append its log after it.
  const lines = text.split("\n").filter((l) => l.includes(","));
  const head = lines.findIndex((l) => l.startsWith("#RunID"));
  if (head < 0 || head + 1 >= lines.length) throw new Error("no header and data line");
  const cols = lines[head].slice(1).split(",");
  const vals = lines[head + 1].split(",");
  const num = (name: string) => {
    const v = Number(vals[cols.indexOf(name)]);
    if (!Number.isFinite(v)) throw new Error(`no ${name}`);
    return v;
  };
  return { seconds: num("DurationSecs"), msgsPerSec: num("MsgsPerSec") };
}

export async function runLimit(r: LimitRun): Promise<LimitResult> {
  const s = r.scenario;
  if (!("tool" in s.limit)) throw new Error(`limit mode is n/a for ${s.id}: ${s.limit.na}`);
  const tool = s.limit.tool;
  // The payload is the envelope of the scenario's first event: its size and bytes are those of
  // the other modes' messages (all events of a scenario are the same size to within a few digits).
  const [e] = makeEvents({ count: 1, payloadBytes: s.payloadBytes, agents: 1, types: 1, secrets: s.secrets });
  const body = JSON.stringify(seedEnvelope(e));
  const subject = seedSubject(r.subjectPrefix, e);
  const dir = mkdtempSync(join(tmpdir(), "bench-limit-"));
  try {
    const payload = join(dir, "payload.json");
    const csv = join(dir, "run.csv");
    writeFileSync(payload, body);
    const args = (msgs: number) => [
      "-s",
      r.url,
      "bench",
      "js",
      "pub",
      tool,
      subject,
      "--stream",
      r.stream,
      "--msgs",
      String(msgs),
      "--payload",
      payload,
      "--dedup",
      ...(tool === "async" ? ["--batch", String(r.batch)] : []),
      "--no-progress",
      "--csv",
      csv,
    ];
    // The tool's start-up (Go runtime, connection, stream lookup) is CPU it spends whatever the
    // count: a one-message run measures it, to be taken off the measured run's CPU.
    r.progress?.("start-up probe (1 message)");
    const probe = await runTool(r.nats, args(1), csv, r.timeoutMs);
    rmSync(csv, { force: true });
    let warmRate = 0;
    if (s.warmup > 0) {
      r.progress?.(`warm-up (${s.warmup} messages)`);
      const w = await runTool(r.nats, args(s.warmup), csv, r.timeoutMs);
      warmRate = w.msgsPerSec;
      rmSync(csv, { force: true });
    }
    // Duration-based scenarios: as many messages as the tool's warm-up rate sends in that time
    // (the tool has no duration limit at full speed); at least the scenario's event count.
    const msgs = s.durationMs ? Math.max(s.events, Math.round((warmRate * s.durationMs) / 1000)) : s.events;
    const notes: string[] = [];
    r.progress?.(`nats bench js pub ${tool}, ${msgs} messages`);
    const cpu0 = r.serverCpuMs();
    const run = await runTool(r.nats, args(msgs), csv, r.timeoutMs);
    const cpu1 = r.serverCpuMs();
    if (s.durationMs && Math.abs(run.seconds * 1000 - s.durationMs) > s.durationMs / 2)
      notes.push(`ran ${run.seconds.toFixed(1)} s for ${s.durationMs / 1000} s of the other modes`);
    const shown = args(msgs).map((a) => (a === payload ? "<envelope.json>" : a === csv ? "<out.csv>" : a));
    return {
      scenario: s.id,
      tool,
      command: `nats ${shown.slice(2).join(" ")}`,
      sent: msgs,
      seconds: run.seconds,
      eventsPerSec: Math.round(run.msgsPerSec),
      envelopeBytes: Buffer.byteLength(body),
      toolCpuMs: run.cpuMs === undefined ? null : Math.max(0, run.cpuMs - (probe.cpuMs ?? 0)),
      extraStored: 1,
      serverCpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : null,
      notes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
