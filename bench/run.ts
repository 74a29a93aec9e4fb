// `npm run bench [-- --quick] [-- --only sequential,rate-10k] [-- --rounds N] [-- --out DIR] [-- --no-micro]`
// Runs every scenario in three modes (ceiling, inline, offloaded) against one NATS server: each
// (scenario, mode) in a child process of its own, on a fresh stream; and, where it can emulate the
// scenario, the official Go `nats bench` tool against the same server (the limit mode). Prints a
// table, writes bench/results/latest.json and bench/results/report.html. See bench/README.md.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../src/config.ts";
import { type HostCostRow, hostCostInChild, hostCostTable } from "./host-cost.ts";
import { BenchChild } from "./lib/child.ts";
import { idleLoopDelay } from "./lib/host-monitor.ts";
import { ProgressLine } from "./lib/progress.ts";
import { renderHtml } from "./lib/report-html.ts";
import { toMarkdown } from "./lib/markdown.ts";
import { addRatios, failedRow, limitRow, toRow, type BenchReport, type Header } from "./lib/results.ts";
import { NoServerBinary, startServer } from "./lib/server.ts";
import { StreamAdmin, streamNames } from "./lib/streams.ts";
import { engineCommit, machine } from "./lib/system.ts";
import { fmtInt, headerLines, microTable, rowsTable } from "./lib/table.ts";
import { summaryLines } from "./lib/summary.ts";
import { type RoundRow, type RoundsSummary, roundsLines, summarizeRounds } from "./lib/rounds.ts";
import { LIMIT, MODE_ORDER, MODES, type MicroResult, type ModeName, type RunSpec } from "./lib/types.ts";
import { LIMIT_BATCH, runLimit } from "./modes/limit.ts";
import { SCENARIO_IDS, scenarios } from "./scenarios/catalog.ts";
import { natsTools } from "../test/helpers/nats-tools.ts";

interface BenchOptions {
  /** Small counts and short durations: the whole run in under a minute. */
  quick?: boolean;
  /** Scenario ids to run (and/or "micro"); all of them when absent. */
  only?: string | string[];
  /** Where latest.json and report.html go; bench/results by default. */
  outDir?: string;
  /** A running server to use instead of an embedded one (default: the NATS_URL variable). */
  natsUrl?: string;
  /** The nats-server binary to embed (default: NATS_SERVER_BIN, else the current release the project builds). */
  natsServerBin?: string;
  /**
   * The `nats` CLI of the limit mode (default: NATS_CLI_BIN, else the one the project builds);
   * false: no limit rows.
   */
  natsCli?: string | false;
  /** Messages per batch of the limit mode's `nats bench js pub async` (default LIMIT_BATCH). */
  limitBatch?: number;
  /**
   * Run the scenarios this many times (default 1), the modes in a rotating order, and compare the
   * latency of the paced scenarios round by round (lib/rounds.ts).
   */
  rounds?: number;
  /** Run the tinybench micro-benchmarks (default: yes, unless `only` leaves them out). */
  micro?: boolean;
  /** Where the table lines go (default: stdout). */
  log?: (line: string) => void;
  /** Show a progress line on stderr (default: true). */
  progress?: boolean;
}

interface BenchOutcome extends BenchReport {
  rounds?: RoundsSummary;
  files: { json: string; html: string };
}

/** Concurrent callers of the inline mode at full speed (nats.js's sweet spot for js.publish in flight). */
const INLINE_FULL_CALLERS = 256;

const DEFAULT_OUT = fileURLToPath(new URL("./results", import.meta.url));

/** The limit mode's tool, or why there is none. */
function findLimitTool(opts: BenchOptions): { tool: Header["limitTool"]; note?: string } {
  if (opts.natsCli === false) return { tool: null, note: "limit mode off (--no-limit)" };
  const batch = opts.limitBatch ?? LIMIT_BATCH;
  try {
    const bin = opts.natsCli ?? process.env.NATS_CLI_BIN ?? natsTools().nats;
    if (!existsSync(bin)) throw new Error(`no nats CLI at ${bin}`);
    const version = execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    return { tool: { bin, version, batch } };
  } catch (e) {
    return { tool: null, note: `no limit rows: ${(e as Error).message.split("\n")[0]}` };
  }
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchOutcome> {
  const started = performance.now();
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((l: string) => console.log(l));
  const only =
    opts.only === undefined
      ? null
      : (Array.isArray(opts.only) ? opts.only : opts.only.split(",")).map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((id) => id !== "micro" && !SCENARIO_IDS.includes(id)) ?? [];
  if (unknown.length)
    throw new Error(`unknown scenario(s) ${unknown.join(", ")}; known: micro, ${SCENARIO_IDS.join(", ")}`);
  const list = scenarios(quick).filter((s) => !only || only.includes(s.id));
  const withMicro = opts.micro ?? (!only || only.includes("micro"));
  const progress = opts.progress === false ? undefined : new ProgressLine();
  const maxInFlight = DEFAULTS.maxInFlight;
  const rounds = opts.rounds ?? 1;

  const server = await startServer(opts.natsUrl ? { NATS_URL: opts.natsUrl } : process.env, opts.natsServerBin);
  let admin: StreamAdmin | undefined;
  try {
    admin = await StreamAdmin.connect(server.url);
    const m = machine();
    const limit = findLimitTool(opts);
    const idle = await idleLoopDelay(quick ? 500 : 2000);
    const header: BenchReport["header"] = {
      date: new Date().toISOString(),
      node: m.node,
      natsServer: admin.serverVersion,
      server: server.embedded ? "embedded" : "NATS_URL",
      natsServerBin: server.bin,
      cpu: m.cpu,
      cores: m.cores,
      memoryGb: m.memoryGb,
      os: m.os,
      quick,
      only,
      commit: engineCommit(),
      idleLoopDelayP99Ms: idle.p99Ms,
      limitTool: limit.tool,
      ...(limit.note ? { limitNote: limit.note } : {}),
      durationSec: 0,
    };
    for (const l of headerLines(header)) log(l);

    let micro: MicroResult[] = [];
    let hostCost: HostCostRow[] = [];
    if (withMicro) {
      progress?.update("micro-benchmarks (tinybench) ...");
      const child = new BenchChild();
      try {
        micro = await child.micro(server.url, quick, 120_000);
      } catch (e) {
        log(`micro-benchmarks failed: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
      } finally {
        await child.close();
      }
      progress?.clear();
      log("");
      for (const l of microTable(micro)) log(l);
      progress?.update("host cost by payload size (bench/host-cost.ts) ...");
      hostCost = await hostCostInChild(quick).catch((e) => (log(`host-cost failed: ${e}`), []));
      progress?.clear();
      log("");
      for (const l of hostCostTable(hostCost)) log(l);
    }

    // The full run forks a fresh process per (scenario, mode): its RSS, heap and JIT state are its
    // own. --quick keeps one process per mode for all scenarios (start-up would dominate otherwise).
    const kept = new Map<string, BenchChild>();
    const childFor = (mode: string) => {
      if (!quick) return new BenchChild();
      let c = kept.get(mode);
      if (!c?.alive) kept.set(mode, (c = new BenchChild()));
      return c;
    };
    const rows: RoundRow[] = [];
    const runs = Array.from({ length: rounds }, (_, r) => list.map((s) => ({ s, round: r + 1 }))).flat();
    try {
      for (const [si, { s, round }] of runs.entries()) {
        // Rotate the order of the modes from one run of a scenario to the next: no mode always runs first.
        const modes: ModeName[] = [...MODES, ...(limit.tool && "tool" in s.limit ? [LIMIT] : [])];
        const order: ModeName[] = [...modes.map((_, k) => modes[(k + si) % modes.length]), ...(s.extraModes ?? [])];
        const scenarioRows: RoundRow[] = [];
        for (const mode of order) {
          const names = streamNames(s.id, mode);
          const spec: RunSpec = {
            scenario: s,
            mode,
            url: server.url,
            ...names,
            maxInFlight,
            inlineFullCallers: INLINE_FULL_CALLERS,
            settleTimeoutMs: 30_000,
          };
          const label = `${s.id} ${mode}${rounds > 1 ? ` (round ${round}/${rounds})` : ""}`;
          progress?.update(`${label}: starting`);
          if (mode === LIMIT && limit.tool) {
            const wallStart = performance.now();
            try {
              await admin.fresh(names, server.url, maxInFlight);
              const result = await runLimit({
                scenario: s,
                url: server.url,
                ...names,
                nats: limit.tool.bin,
                batch: limit.tool.batch,
                serverCpuMs: () => server.cpuMs(),
                timeoutMs: (quick ? 120 : 300) * 1000,
                progress: (phase) => progress?.update(`${label}: ${phase}`),
              });
              const stored = (await admin.count(names.stream)) - s.warmup - result.extraStored;
              scenarioRows.push(limitRow(result, stored, (performance.now() - wallStart) / 1000));
            } catch (e) {
              scenarioRows.push(failedRow(s.id, mode, s.events, e instanceof Error ? e.message : String(e)));
            } finally {
              await admin.remove(names.stream);
            }
            continue;
          }
          let cpuAtStart: number | undefined;
          let cpuUsed: number | null = null;
          const child = childFor(mode);
          const wallStart = performance.now();
          try {
            await admin.fresh(names, server.url, maxInFlight);
            const result = await child.run(
              spec,
              {
                progress: (p) => {
                  const goal =
                    s.durationMs && p.phase === "run"
                      ? `${(p.elapsedMs / 1000).toFixed(1)}/${s.durationMs / 1000} s`
                      : `${(p.elapsedMs / 1000).toFixed(1)} s`;
                  progress?.update(`${label}: ${p.phase} ${goal}  ${fmtInt(p.acked)}/${fmtInt(p.sent)} acked`);
                },
                mark: (at) => {
                  const cpu = server.cpuMs();
                  if (at === "start") cpuAtStart = cpu;
                  else if (cpu !== undefined && cpuAtStart !== undefined) cpuUsed = cpu - cpuAtStart;
                },
              },
              (quick ? 120 : 300) * 1000,
            );
            const stored = (await admin.count(names.stream)) - s.warmup;
            scenarioRows.push(toRow(result, stored, cpuUsed, (performance.now() - wallStart) / 1000));
          } catch (e) {
            scenarioRows.push(failedRow(s.id, mode, s.events, e instanceof Error ? e.message : String(e)));
          } finally {
            if (!quick) await child.close();
            await admin.remove(names.stream);
          }
        }
        progress?.clear();
        scenarioRows.sort((a, b) => MODE_ORDER.indexOf(a.mode) - MODE_ORDER.indexOf(b.mode));
        addRatios(scenarioRows);
        if (rounds > 1) for (const row of scenarioRows) row.round = round;
        rows.push(...scenarioRows);
        log("");
        log(`${s.id}: ${s.title}${rounds > 1 ? ` (round ${round} of ${rounds})` : ""}`);
        for (const l of rowsTable(scenarioRows).slice(2)) log(`  ${l}`);
        if ("na" in s.limit) log(`  limit: n/a (${s.limit.na})`);
      }
    } finally {
      await Promise.all([...kept.values()].map((c) => c.close()));
    }

    header.durationSec = Math.round((performance.now() - started) / 1000);
    const roundsSummary = rounds > 1 ? summarizeRounds(rows, rounds) : undefined;
    const report: BenchReport & { hostCost: HostCostRow[]; rounds?: RoundsSummary } = {
      header,
      micro,
      hostCost,
      results: rows,
      scenarios: list.map((s) => ({ id: s.id, title: s.title, limit: s.limit })),
      ...(roundsSummary ? { rounds: roundsSummary } : {}),
    };
    const outDir = resolve(opts.outDir ?? DEFAULT_OUT);
    mkdirSync(outDir, { recursive: true });
    const files = { json: join(outDir, "latest.json"), html: join(outDir, "report.html") };
    writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(files.html, renderHtml(report));

    log("");
    log(
      "All results (latency: capture->ack; bursty and rate-*: intended time -> stored by JetStream; " +
        "see bench/README.md)",
    );
    for (const l of rowsTable(rows)) log(l);
    if (micro.length) {
      log("");
      for (const l of microTable(micro)) log(l);
    }
    if (hostCost.length) for (const l of ["", ...hostCostTable(hostCost)]) log(l);
    log("");
    for (const l of summaryLines(report)) log(l);
    if (roundsSummary) for (const l of ["", ...roundsLines(roundsSummary)]) log(l);
    log("");
    log(`wrote ${files.json} and ${files.html} in ${header.durationSec} s`);
    return { ...report, files };
  } finally {
    progress?.clear();
    await admin?.close();
    await server.close();
  }
}

type CliOptions = BenchOptions & { help?: boolean; markdown?: string };

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf("=");
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick" || a === "-q") o.quick = true;
    else if (a === "--only" || a.startsWith("--only=")) o.only = value();
    else if (a === "--out" || a.startsWith("--out=")) o.outDir = value();
    else if (a === "--nats-server" || a.startsWith("--nats-server=")) o.natsServerBin = value();
    else if (a === "--nats-cli" || a.startsWith("--nats-cli=")) o.natsCli = value();
    else if (a === "--no-limit") o.natsCli = false;
    else if (a === "--limit-batch" || a.startsWith("--limit-batch=")) {
      o.limitBatch = Number(value());
      // The Go client's async publisher stalls beyond 4,000 outstanding publishes.
      if (!Number.isInteger(o.limitBatch) || o.limitBatch < 1 || o.limitBatch > 4000)
        throw new Error("--limit-batch takes 1..4000");
    } else if (a === "--rounds" || a.startsWith("--rounds=")) {
      o.rounds = Number(value());
      if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 50) throw new Error("--rounds takes 1..50");
    } else if (a === "--no-micro") o.micro = false;
    else if (a === "--no-progress") o.progress = false;
    else if (a === "--help" || a === "-h") o.help = true;
    else if (a === "--markdown")
      o.markdown = argv[i + 1]?.startsWith("-") === false ? argv[++i] : join(DEFAULT_OUT, "latest.json");
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

const USAGE = `usage: npm run bench [-- options]
  --quick           small counts, short durations (under a minute)
  --only a,b        only these scenarios (and/or "micro"): ${SCENARIO_IDS.join(", ")}
  --rounds N        run the scenarios N times, the modes in a rotating order, and compare the latency of
                    the paced scenarios round by round (latest.json holds every round's rows and
                    \`rounds\`; the charts of report.html show the first round)
  --out DIR         write latest.json and report.html there (default bench/results)
  --nats-server BIN embed this nats-server binary (default: NATS_SERVER_BIN, else the current release that
                    scripts/ensure-nats-tools.sh builds; Debian's is /usr/sbin/nats-server)
  --nats-cli BIN    the \`nats\` CLI of the limit mode (default: NATS_CLI_BIN, else the one
                    scripts/ensure-nats-tools.sh builds)
  --no-limit        no limit mode (the Go \`nats bench\` tool)
  --limit-batch N   messages per batch of the limit mode's \`nats bench js pub async\` (default ${LIMIT_BATCH})
  --no-micro        skip the tinybench micro-benchmarks
  --no-progress     no progress line on stderr
  --markdown [FILE] print the results of FILE (default bench/results/latest.json) as Markdown, run nothing
environment: NATS_URL=nats://host:port uses that server instead of starting nats-server;
  NATS_SERVER_BIN, NATS_CLI_BIN as --nats-server, --nats-cli`;

if (import.meta.main) {
  let opts: CliOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (opts.markdown) {
    process.stdout.write(toMarkdown(JSON.parse(readFileSync(opts.markdown, "utf8")) as BenchReport));
    process.exit(0);
  }
  runBench(opts).then(
    (r) => {
      const bad = r.results.filter((x) => !x.verified);
      if (bad.length) {
        console.error(
          `${bad.length} run(s) did not ack and store every event: ` +
            bad.map((x) => `${x.scenario}/${x.mode}`).join(", "),
        );
        process.exitCode = 1;
      }
    },
    (e: unknown) => {
      if (e instanceof NoServerBinary) console.error(`bench: ${e.message}`);
      else console.error(e);
      process.exitCode = 1;
    },
  );
}

export type { BenchReport, Row } from "./lib/results.ts";
