// bench/results/report.html: one self-contained page (inline SVG and CSS, no scripts) with the
// run's header, throughput and host-cost charts, latency percentile curves and the full table.
import type { BenchReport, Row } from "./results.ts";
import { barChart, esc, percentileChart, stackedChart, MODE_COLORS, type BarGroup, type StackedBar } from "./svg.ts";
import { fmtInt, fmtMs } from "./table.ts";
import { MODE_ORDER, MODES } from "./types.ts";

const CSS =
  "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}\n" +
  "h1{font-size:22px;margin:0 0 4px}" +
  "h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\n" +
  ".meta{color:#555}table{border-collapse:collapse;font-size:12.5px;margin:8px 0}" +
  "td,th{padding:3px 7px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\n" +
  "td:first-child,th:first-child,td.l,th.l{text-align:left}th{background:#f6f6f6;position:sticky;top:0}" +
  "tr.sep td{border-top:2px solid #ccc}\n" +
  ".bad{color:#b00;font-weight:600}.grid{stroke:#e4e4e4}.tick{font-size:10px;fill:#777}" +
  ".lbl{font-size:11.5px;fill:#333}.val{font-size:10px;fill:#444}\n" +
  ".t{font-size:13px;font-weight:600;fill:#222}.lgd{font-size:11px;font-weight:600}" +
  ".curves{display:flex;flex-wrap:wrap;gap:10px}\n" +
  ".key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:-1px}" +
  ".note{color:#666;font-size:12.5px}";

function groups(r: BenchReport, value: (x: Row) => number | null, text: (x: Row) => string): BarGroup[] {
  return r.scenarios
    .map((s) => ({
      label: s.id,
      bars: MODE_ORDER.flatMap((m) => {
        const row = r.results.find((x) => x.scenario === s.id && x.mode === m);
        // Modes that run only in some scenarios (offloaded-noredact) get a bar only there.
        if (!row && !MODES.includes(m)) return [];
        return [{ series: m, value: row ? value(row) : null, text: row ? text(row) : "" }];
      }),
    }))
    .filter((g) => g.bars.some((b) => b.value !== null));
}

const opt = (v: number | null | undefined, f: (n: number) => string = fmtMs) =>
  v === null || v === undefined ? "-" : f(v);
const ratio = (v: number | null | undefined) => opt(v, (n) => n.toFixed(2));

function table(r: BenchReport): string {
  const cols: [string, (x: Row) => string][] = [
    ["scenario", (x) => esc(x.scenario)],
    ["mode", (x) => `<span style="color:${MODE_COLORS[x.mode]};font-weight:600">${x.mode}</span>`],
    ["events", (x) => fmtInt(x.events)],
    ["acked ev/s", (x) => fmtInt(x.eventsPerSec)],
    ["MB/s", (x) => x.mbPerSec.toFixed(1)],
    ["x ceiling", (x) => ratio(x.vsCeiling)],
    ["x limit", (x) => ratio(x.vsLimit)],
    ["latency", (x) => x.latencyBasis],
    ["p50 ms", (x) => fmtMs(x.p50Ms)],
    ["p99 ms", (x) => fmtMs(x.p99Ms)],
    ["p99.9 ms", (x) => fmtMs(x.p999Ms)],
    ["max ms", (x) => fmtMs(x.maxMs)],
    [
      "gen late p50 / p99 ms",
      (x) => (x.genLateP99Ms === undefined ? "-" : `${fmtMs(x.genLateP50Ms)} / ${fmtMs(x.genLateP99Ms)}`),
    ],
    [
      "offered->stored p50 / p99 ms",
      (x) => (x.fromOfferP99Ms === undefined ? "-" : `${fmtMs(x.fromOfferP50Ms)} / ${fmtMs(x.fromOfferP99Ms)}`),
    ],
    ["host ns/ev", (x) => opt(x.hostNsPerEvent, fmtInt)],
    ["CPU ms/1k: host", (x) => opt(x.cpuMsPer1k?.host)],
    ["generator", (x) => opt(x.cpuMsPer1k?.generator)],
    ["worker", (x) => opt(x.cpuMsPer1k?.worker)],
    ["other threads", (x) => opt(x.cpuMsPer1k?.otherThreads)],
    ["nats-server", (x) => opt(x.cpuMsPer1k?.server)],
    ["Go tool", (x) => opt(x.cpuMsPer1k?.tool)],
    ["cores", (x) => opt(x.cores, (n) => n.toFixed(2))],
    ["loop p99 ms", (x) => opt(x.loopDelayP99Ms)],
    ["ELU", (x) => opt(x.elu, (n) => n.toFixed(2))],
    ["RSS MB", (x) => opt(x.rssMb, String)],
    ["errors", (x) => (x.errors ? `<span class="bad">${x.errors}</span>` : "0")],
    ["dropped", (x) => (x.dropped ? `<span class="bad">${x.dropped}</span>` : "0")],
    ["verified", (x) => (x.verified ? "yes" : '<span class="bad">NO</span>')],
    ["notes", (x) => `<span class="note">${esc(x.notes.join("; "))}</span>`],
  ];
  const left = new Set(["latency", "notes"]);
  const cls = (h: string) => (left.has(h) ? ' class="l"' : "");
  let last = "";
  const body = r.results.map((x) => {
    const sep = x.scenario !== last ? ' class="sep"' : "";
    last = x.scenario;
    return `<tr${sep}>${cols.map(([h, f]) => `<td${cls(h)}>${f(x)}</td>`).join("")}</tr>`;
  });
  return `<table><tr>${cols.map(([h]) => `<th${cls(h)}>${h}</th>`).join("")}</tr>${body.join("")}</table>`;
}

/** Where the CPU went, per 1,000 events: one stacked bar per (scenario, mode) that measured it. */
function cpuChart(r: BenchReport): string {
  const bars: StackedBar[] = [];
  for (const s of r.scenarios)
    for (const m of MODE_ORDER) {
      const x = r.results.find((row) => row.scenario === s.id && row.mode === m);
      const c = x?.cpuMsPer1k;
      if (!x || !c || !x.verified) continue;
      const parts = [
        { part: "host", value: c.host ?? 0 },
        { part: "generator", value: c.generator ?? 0 },
        { part: "worker", value: c.worker ?? 0 },
        { part: "other", value: c.otherThreads ?? 0 },
        { part: "server", value: c.server ?? 0 },
        { part: "tool", value: c.tool ?? 0 },
      ];
      const total = parts.reduce((a, p) => a + p.value, 0);
      if (total <= 0) continue;
      const cores = x.cores === null ? "" : `, ${x.cores.toFixed(2)} cores`;
      bars.push({ label: `${s.id} ${m}`, parts, text: `${fmtMs(total)} ms${cores}` });
    }
  return stackedChart("CPU time per 1,000 events, ms (= µs per event), by thread / process", bars, "");
}

export function renderHtml(r: BenchReport): string {
  const h = r.header;
  const swatch = (m: string) => `<span style="background:${MODE_COLORS[m]}"></span>${m}`;
  const key = `<p class="key">${MODE_ORDER.map(swatch).join("")}</p>`;
  const throughput = barChart(
    "Acked events per second (consumer-read: messages read per second), log scale",
    groups(
      r,
      (x) => x.eventsPerSec || null,
      (x) => {
        const ceil = x.vsCeiling !== null && x.mode !== "ceiling" ? ` ${x.vsCeiling.toFixed(2)}x ceiling` : "";
        const lim = x.vsLimit !== null && x.mode !== "limit" ? ` ${x.vsLimit.toFixed(2)}x limit` : "";
        return `${fmtInt(x.eventsPerSec)}${ceil || lim ? ` (${[ceil, lim].filter(Boolean).join(",").trim()})` : ""}`;
      },
    ),
    "",
  );
  const hostCost = barChart(
    "Host-thread time inside the capture / publish call, ns per event, log scale",
    groups(
      r,
      (x) => x.hostNsPerEvent,
      (x) => (x.hostNsPerEvent === null ? "-" : `${fmtInt(x.hostNsPerEvent)} ns`),
    ),
    " ns",
  );
  const hostCpu = barChart(
    "Host-thread CPU time per event (calls, ack handling, load driver), ns, log scale",
    groups(
      r,
      (x) => x.hostCpuNsPerEvent,
      (x) => (x.hostCpuNsPerEvent === null ? "-" : `${fmtInt(x.hostCpuNsPerEvent)} ns`),
    ),
    " ns",
  );
  const loop = barChart(
    "Host event-loop delay p99 during the run, ms, log scale",
    groups(
      r,
      (x) => (x.loopDelayP99Ms !== null && x.loopDelayP99Ms > 0 ? x.loopDelayP99Ms : null),
      (x) => `${fmtMs(x.loopDelayP99Ms)} ms (ELU ${opt(x.elu, (n) => n.toFixed(2))})`,
    ),
    " ms",
  );
  const curves = r.scenarios
    .map((s) => {
      const rows = r.results.filter((x) => x.scenario === s.id && x.curve);
      if (rows.length === 0) return "";
      return percentileChart(
        `${s.id}: ${rows[0].latencyBasis}`,
        rows.map((x) => ({ series: x.mode, points: x.curve! })),
      );
    })
    .join("");
  const microHead = ["call", "mean ns", "p50 ns", "p99 ns", "±%", "samples"].map((c) => `<th>${c}</th>`).join("");
  const microRow = (m: BenchReport["micro"][number]) =>
    `<tr><td>${esc(m.name)}</td><td>${fmtInt(m.meanNs)}</td><td>${fmtInt(m.p50Ns)}</td><td>${fmtInt(m.p99Ns)}</td>` +
    `<td>${m.rmePct.toFixed(1)}</td><td>${fmtInt(m.samples)}</td><td class="l note">${esc(m.notes)}</td></tr>`;
  const micro = r.micro.length
    ? "<h2>Call cost (tinybench, per event; host thread unless marked worker)</h2>" +
      `<table><tr>${microHead}<th class="l">notes</th></tr>${r.micro.map(microRow).join("")}</table>` +
      `<p class="note">Each sample loops over ${r.micro[0].perIteration} calls; the figures are divided by that.</p>`
    : "";
  const limitOf = (s: BenchReport["scenarios"][number]) =>
    !s.limit ? "" : "na" in s.limit ? `n/a: ${s.limit.na}` : `nats bench js pub ${s.limit.tool}`;
  const scenarioRow = (s: BenchReport["scenarios"][number]) =>
    `<tr><td>${esc(s.id)}</td><td class="l">${esc(s.title)}</td><td class="l note">${esc(limitOf(s))}</td></tr>`;
  const scenarios =
    '<table><tr><th>id</th><th class="l">load</th><th class="l">limit mode</th></tr>' +
    `${r.scenarios.map(scenarioRow).join("")}</table>`;
  const limitTool = h.limitTool
    ? `nats ${esc(h.limitTool.version)} bench js pub, async batches of ${h.limitTool.batch}`
    : esc(h.limitNote ?? "off");
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
      `<title>openclaw-nats-eventstore bench ${esc(h.date)}</title><style>${CSS}</style></head><body>`,
    `<h1>openclaw-nats-eventstore: benchmark${h.quick ? " (--quick)" : ""}</h1>`,
    `<p class="meta">${esc(h.date)} · Node ${esc(h.node)} · nats-server ${esc(h.natsServer)} (${h.server}) · ` +
      `${esc(h.cpu)} x${h.cores} · ${h.memoryGb} GB · ${esc(h.os)} · ` +
      `idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms · commit ${esc(h.commit ?? "?")} · ` +
      `${h.durationSec} s</p>`,
    '<p class="note">Modes: <b>offloaded</b> = this plugin (EventPipeline.capture on the host thread, ' +
      "publishing from a worker); <b>inline</b> = the seed plugin's way (JSON + awaited js.publish on the host's " +
      "event loop); <b>ceiling</b> = a bare inbox-ack publisher with pre-encoded messages, the most this machine " +
      "and server allow; <b>offloaded-noredact</b> = this plugin with secret redaction off (redact: false), in the " +
      `scenarios that measure what redaction costs; <b>limit</b> = the official Go tool (${limitTool}) against ` +
      "the same server and stream settings with a Nats-Msg-Id per message, where it can emulate the scenario: " +
      "the server's own limit (x limit). Each (scenario, mode) ran in its own process, on a fresh file-storage " +
      "stream with de-duplication on, after a warm-up. Latency is capture-&gt;ack, except bursty and rate-* " +
      "(intended time -&gt; stored, by JetStream's clock, no coordinated omission).</p>",
    key,
    `<h2>Throughput</h2>${throughput}`,
    '<h2>Latency by percentile</h2><p class="note">Closed-loop scenarios (capture-&gt;ack): inline and ceiling ' +
      "callers wait for each ack, so at most as many events as callers are queued; the offloaded mode never waits " +
      "(hooks do not) and runs up to 4096 + 1024 events ahead of the acks, so its figures there are mostly " +
      "queueing at full speed. bursty and rate-* offer the same open-loop load to every mode: compare latency " +
      `there.</p><div class="curves">${curves}</div>`,
    '<h2>Where the CPU goes</h2><p class="note">CPU time during the measured part per 1,000 acked events: ' +
      "the host (gateway) thread, the paced load generator's precise waits on it, the plugin's worker thread, " +
      "the bench process's other threads (GC, libuv), the embedded nats-server and the Go tool; " +
      '"cores" is all of it over the wall time ' +
      `(this machine has ${h.cores}).</p>${cpuChart(r)}`,
    `<h2>Host cost</h2>${hostCost}${hostCpu}${loop}`,
    micro,
    `<h2>All figures</h2>${table(r)}`,
    `<h2>Scenarios</h2>${scenarios}`,
    "</body></html>",
    "",
  ].join("\n");
}
